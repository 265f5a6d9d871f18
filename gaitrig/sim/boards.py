"""Virtual boards: the firmware's behaviour on a real pseudo-terminal.

Each board opens a pty pair, puts it in raw mode and serves the slave end's path as its ``port``,
so the host opens it with pyserial exactly as it opens ``/dev/ttyACM0``. A thread per board plays
the firmware (docs/protocol.md, "Session"): it boots stopped and sends HELLO once; answers
IDENTIFY (HELLO, then ACK), START, STOP and SET_RATE with ACK; streams DATA in real time at the
sample rate; and sends STATUS (at most 10 per second) when frames were dropped, a channel saturated
or a command was malformed. Sampling never waits for the host: the master end is non-blocking, and a
frame that does not fit is dropped and counted (its sequence number is spent, so the host sees the
gap).

Time: the board's clock is ``offset_us + (t_host - boot_s) · (1 + drift_ppm·1e-6) · 1e6`` µs,
wrapping at 2^32; samples are scheduled on it from the START time (no cumulative drift), so the
DATA timestamps step by exactly ``1e6 / rate`` µs (floored) of device time.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import select
import threading
import time
import tty
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypedDict, Unpack

import numpy as np
import numpy.typing as npt

from gaitrig.drivers import protocol as p

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Host times (n,) in s -> raw counts (n, channels) as the board's ADC/amplifiers read them.
CountsSource = Callable[[FloatArray], IntArray]
HostClock = Callable[[], float]


class BoardOptions(TypedDict, total=False):
    """Options every virtual board takes (see :class:`VirtualBoard`)."""

    clock_offset_us: int
    drift_ppm: float
    burst_s: float
    firmware_version: tuple[int, int, int]
    clock: HostClock
    boot_s: float | None

VIRTUAL_FIRMWARE_VERSION = (0, 1, 0)
STATUS_INTERVAL_S = 0.1  # a board sends at most 10 STATUS frames per second
IDLE_POLL_S = 0.1
#: If the writer thread falls this far behind (s), the missed samples are skipped (SAMPLE_OVERRUN).
MAX_BACKLOG_S = 0.25
_SEQ_SLOTS = p.U16
_COMMAND_TYPES = {int(t) for t in p.MessageType if t.name.startswith("CMD_")}


def device_time_us(t_host_s: npt.ArrayLike, boot_s: float, offset_us: int,
                   drift_ppm: float) -> npt.NDArray[np.int64]:
    """A board's clock (µs) at host times ``t_host_s`` (s), wrapped to u32 like the DATA field."""
    elapsed_us = (np.asarray(t_host_s, dtype=np.float64) - boot_s) * (1.0 + drift_ppm * 1e-6) * 1e6
    ticks = offset_us + np.floor(elapsed_us).astype(np.int64)
    wrapped: npt.NDArray[np.int64] = np.mod(ticks, p.U32)
    return wrapped


class VirtualBoard:
    """One virtual board on its own pseudo-terminal (use a subclass: bars or insole).

    ``read_counts`` gives the raw counts the board's sensors read at given host times (s).
    ``saturation`` (low, high): readings at or beyond either are flagged ADC_SATURATED in STATUS.
    ``clock_offset_us``/``drift_ppm`` set the board's clock, which started at host time ``boot_s``
    (default: now, by ``clock``); ``burst_s`` how often the writer wakes to send the frames that
    fell due (1-5 ms, like a USB-serial chip's latency timer).
    """

    role: p.BoardRole
    value_bytes: int

    def __init__(
        self,
        *,
        device_id: int,
        channel_map: Sequence[int],
        rate_hz: int,
        read_counts: CountsSource,
        serial_number: int,
        saturation: tuple[int, int],
        clock_offset_us: int = 0,
        drift_ppm: float = 0.0,
        burst_s: float = 0.002,
        firmware_version: tuple[int, int, int] = VIRTUAL_FIRMWARE_VERSION,
        clock: HostClock = time.monotonic,
        boot_s: float | None = None,
    ) -> None:
        if not self.rate_is_valid(rate_hz):
            raise ValueError(f"{self.role.name} board cannot sample at {rate_hz} Hz")
        self.device_id = device_id
        self.channel_map = tuple(channel_map)
        self.serial_number = serial_number
        self.firmware_version = firmware_version
        self.clock_offset_us = int(clock_offset_us)
        self.drift_ppm = float(drift_ppm)
        self.burst_s = float(burst_s)
        self._read_counts = read_counts
        self._saturation = saturation
        self._clock = clock
        self.boot_s = clock() if boot_s is None else float(boot_s)
        self._rate_hz = int(rate_hz)

        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass untouched
        os.set_blocking(master, False)
        self._master: int | None = master
        self._slave: int | None = slave
        self.port = os.ttyname(slave)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

        # Commands from a host that restarted its counter are not duplicates: no sequence tracking.
        self._decoder = p.Decoder(track_sequence=False)
        self._seq = 0
        self._streaming = False
        self._stream_start_us = 0  # device µs (unwrapped, without offset) of sample 0
        self._next_sample = 0
        self._pending = b""  # rest of a frame the pty accepted only in part
        self._injections: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._status_flags = p.StatusFlag(0)
        self._status_channels = 0
        self._dropped_since_status = 0
        self._last_status_s = -math.inf
        self._last_burst_s = -math.inf
        self._bad_input_seen = 0
        self._write_times = np.full(_SEQ_SLOTS, np.nan)

        self.frames_sent = 0
        self.data_frames_sent = 0
        self.dropped_frames = 0
        self.powered = False
        self.unplugged = False
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._close_lock = threading.Lock()

    # -- what a subclass decides -----------------------------------------------------------------

    @classmethod
    def rate_is_valid(cls, rate_hz: int) -> bool:
        raise NotImplementedError

    # -- life cycle ------------------------------------------------------------------------------

    def power_on(self) -> None:
        """Boot: start the firmware thread, which sends HELLO once and waits for commands."""
        if self._thread is not None:
            return
        self.powered = True
        self._thread = threading.Thread(target=self._run, name=f"virtual-{self.role.name.lower()}",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Power off and remove the pseudo-terminal. Safe to call twice."""
        with self._close_lock:
            self._closing.set()
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"x")
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=2.0)
            for name in ("_master", "_slave"):
                fd = getattr(self, name)
                if fd is not None:
                    setattr(self, name, None)
                    with contextlib.suppress(OSError):
                        os.close(fd)
            for fd in (self._wake_read, self._wake_write):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake_read = self._wake_write = -1
            self.powered = False

    def unplug(self) -> None:
        """Pull the USB cable: the pty disappears and the host's reads fail."""
        self.unplugged = True
        self.close()

    def __enter__(self) -> VirtualBoard:
        self.power_on()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- state and test hooks --------------------------------------------------------------------

    @property
    def rate_hz(self) -> int:
        return self._rate_hz

    @property
    def streaming(self) -> bool:
        return self._streaming

    @property
    def channel_count(self) -> int:
        return len(self.channel_map)

    def inject(self, raw: bytes) -> None:
        """Write ``raw`` bytes (garbage, half frames...) into the stream between two frames."""
        self._injections.put(bytes(raw))
        self._wake()

    def written_at_s(self, seq: int) -> float | None:
        """Host monotonic time (s) DATA frame ``seq`` was handed to the pty (just before the write),
        if it is among the last 65536 frames and was not dropped."""
        value = float(self._write_times[seq % _SEQ_SLOTS])
        return None if math.isnan(value) else value

    def device_time_us(self, t_host_s: float) -> int:
        """This board's clock (µs, wrapped to u32) at host time ``t_host_s``."""
        return int(device_time_us(t_host_s, self.boot_s, self.clock_offset_us, self.drift_ppm))

    def hello(self) -> p.Hello:
        return p.Hello(self.device_id, self._seq, self.device_time_us(self._clock()), self.role,
                       self.firmware_version, self._rate_hz, self.serial_number, self.channel_map)

    # -- firmware loop ---------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"x")

    def _run(self) -> None:
        try:
            self._send(self.hello())
            while not self._closing.is_set():
                master = self._master
                if master is None:
                    return
                readable, _, _ = select.select([master, self._wake_read], [], [],
                                               self._sleep_s())
                if self._closing.is_set():
                    return
                if self._wake_read in readable:
                    os.read(self._wake_read, 4096)
                if master in readable:
                    self._read_commands(master)
                self._write_injections()
                if self._streaming:
                    self._send_due_samples()
                self._maybe_send_status()
        except (OSError, ValueError):
            if not self._closing.is_set():
                raise

    def _sleep_s(self) -> float:
        if not self._streaming:
            return IDLE_POLL_S
        due_s = self._sample_host_time(self._next_sample)
        wake_s = max(float(due_s), self._last_burst_s + self.burst_s)
        return min(IDLE_POLL_S, max(0.0, wake_s - self._clock()))

    def _read_commands(self, master: int) -> None:
        try:
            data = os.read(master, 4096)
        except BlockingIOError:
            return
        decoder = self._decoder
        messages = decoder.feed(data)
        counters = decoder.counters
        unknown = [f for f in decoder.rejected if f.type_code not in _COMMAND_TYPES]
        decoder.rejected.clear()
        bad_input = counters.crc_errors + counters.oversize_frames + counters.malformed_frames
        bad_input -= len(unknown)
        if bad_input != self._bad_input_seen:  # damaged frames, wrong payload lengths
            self._bad_input_seen = bad_input
            self._raise_status(p.StatusFlag.BAD_COMMAND)
        # As the firmware does: a CRC-valid frame that is not a host command is ACKed UNSUPPORTED.
        for frame in unknown:
            self._ack_unsupported(frame.type_code, frame.seq)
        for message in messages:
            if not isinstance(message, p.Command):
                self._ack_unsupported(int(message.type), message.seq)
            elif message.device_id in (self.device_id, p.BROADCAST_DEVICE):
                self._obey(message)

    def _ack_unsupported(self, type_code: int, seq: int) -> None:
        self._send(p.Ack(self.device_id, self._seq, self.device_time_us(self._clock()),
                         p.command_type(type_code), seq, p.AckResult.UNSUPPORTED))

    def _obey(self, command: p.Command) -> None:
        result = p.AckResult.OK
        kind = command.command
        if kind == p.MessageType.CMD_IDENTIFY:
            self._send(self.hello())
        elif kind == p.MessageType.CMD_START:
            if not self._streaming:
                self._start_stream()
        elif kind == p.MessageType.CMD_STOP:
            self._streaming = False
        elif kind == p.MessageType.CMD_SET_RATE:
            if self.rate_is_valid(command.rate_hz):
                self._rate_hz = command.rate_hz
                if self._streaming:
                    self._start_stream()
            else:
                result = p.AckResult.INVALID_ARGUMENT
        else:
            result = p.AckResult.UNSUPPORTED
        self._send(p.Ack(self.device_id, self._seq, self.device_time_us(self._clock()), kind,
                         command.seq, result))

    def _start_stream(self) -> None:
        now_us = (self._clock() - self.boot_s) * (1.0 + self.drift_ppm * 1e-6) * 1e6
        self._stream_start_us = math.floor(now_us)
        self._next_sample = 0
        self._streaming = True

    def _sample_device_us(self, k: npt.NDArray[np.int64] | int) -> npt.NDArray[np.int64]:
        """Device µs since boot (unwrapped, no offset) when sample ``k`` of the stream is taken."""
        return np.asarray(self._stream_start_us + np.floor(
            np.asarray(k, dtype=np.float64) * 1e6 / self._rate_hz)).astype(np.int64)

    def _sample_host_time(self, k: npt.NDArray[np.int64] | int) -> FloatArray:
        device_us = self._sample_device_us(k).astype(np.float64)
        host: FloatArray = self.boot_s + device_us / ((1.0 + self.drift_ppm * 1e-6) * 1e6)
        return host

    def _send_due_samples(self) -> None:
        now = self._clock()
        self._last_burst_s = now
        elapsed_us = (now - self.boot_s) * (1.0 + self.drift_ppm * 1e-6) * 1e6
        due = math.floor((elapsed_us - self._stream_start_us) * self._rate_hz / 1e6) + 1
        if due <= self._next_sample:
            return
        if (due - self._next_sample) > MAX_BACKLOG_S * self._rate_hz:
            self._raise_status(p.StatusFlag.SAMPLE_OVERRUN)
            self._next_sample = due - 1
        k = np.arange(self._next_sample, due, dtype=np.int64)
        self._next_sample = due
        device_us = self._sample_device_us(k)
        host_s = self.boot_s + device_us.astype(np.float64) / (
            (1.0 + self.drift_ppm * 1e-6) * 1e6)
        counts = np.asarray(self._read_counts(host_s), dtype=np.int64)
        self._check_saturation(counts)
        stamps = (device_us + self.clock_offset_us) % p.U32
        for stamp, row in zip(stamps.tolist(), counts.tolist(), strict=True):
            seq = self._seq
            message = p.Data(self.device_id, seq, stamp, tuple(row), self.value_bytes)
            handed_over_s = self._clock()
            written = self._send(message)
            self._write_times[seq % _SEQ_SLOTS] = handed_over_s if written else np.nan
            if written:
                self.data_frames_sent += 1

    def _check_saturation(self, counts: IntArray) -> None:
        low, high = self._saturation
        at_limit = ((counts <= low) | (counts >= high)).any(axis=0)
        if at_limit.any():
            mask = int(sum(1 << i for i in np.flatnonzero(at_limit).tolist()))
            self._raise_status(p.StatusFlag.ADC_SATURATED, mask)

    def _raise_status(self, flag: p.StatusFlag, channel_mask: int = 0) -> None:
        self._status_flags |= flag
        self._status_channels |= channel_mask

    def _maybe_send_status(self) -> None:
        if not self._status_flags:
            return
        now = self._clock()
        if now - self._last_status_s < STATUS_INTERVAL_S:
            return
        self._last_status_s = now
        status = p.Status(self.device_id, self._seq, self.device_time_us(now), self._status_flags,
                          self._status_channels & 0xFFFF, min(self._dropped_since_status, 0xFFFF))
        if self._send(status):
            self._status_flags = p.StatusFlag(0)
            self._status_channels = 0
            self._dropped_since_status = 0

    def _write_injections(self) -> None:
        while True:
            try:
                raw = self._injections.get_nowait()
            except queue.Empty:
                return
            if self._flush_pending():
                self._write_some(raw)

    # -- the transmit buffer ---------------------------------------------------------------------

    def _send(self, message: p.Message) -> bool:
        """Build the frame (spending a sequence number) and queue it; False if it was dropped."""
        frame = p.encode(message)
        self._seq = (self._seq + 1) % p.U16
        if self._flush_pending() and self._write_some(frame):
            self.frames_sent += 1
            return True
        self.dropped_frames += 1
        self._dropped_since_status += 1
        self._raise_status(p.StatusFlag.TX_OVERFLOW)
        return False

    def _flush_pending(self) -> bool:
        """Write what is left of a partly written frame; True once nothing is left."""
        if self._pending:
            pending, self._pending = self._pending, b""
            if not self._write_some(pending):
                self._pending = pending
        return not self._pending

    def _write_some(self, data: bytes) -> bool:
        """Hand ``data`` to the pty; False if none of it fit. A partial write is kept as pending."""
        master = self._master
        if master is None:
            return False
        try:
            written = os.write(master, data)
        except BlockingIOError:
            return False
        if written < len(data):
            self._pending = data[written:]
        return written > 0


class VirtualBarsBoard(VirtualBoard):
    """The bars board: four HX711 load-cell channels, 10 or 80 Hz, 4-byte values.

    Channel map [0, 1, 2, 3] = left front, left rear, right front, right rear post.
    """

    role = p.BoardRole.BARS
    value_bytes = 4

    def __init__(self, read_counts: CountsSource, *, rate_hz: int = 80, device_id: int = 1,
                 serial_number: int = 0x6A17_0001, **options: Unpack[BoardOptions]) -> None:
        super().__init__(device_id=device_id, channel_map=(0, 1, 2, 3), rate_hz=rate_hz,
                         read_counts=read_counts, serial_number=serial_number,
                         saturation=(-(1 << 23), (1 << 23) - 1), **options)

    @classmethod
    def rate_is_valid(cls, rate_hz: int) -> bool:
        return rate_hz in (10, 80)


class VirtualInsoleBoard(VirtualBoard):
    """An insole board: 8 or 16 FSR channels on a 10-bit ADC, 1-1000 Hz, 2-byte values.

    Channel ``i`` carries sensor ``i`` of the insole layout.
    """

    value_bytes = 2

    def __init__(self, side: str, read_counts: CountsSource, *, channel_count: int = 8,
                 rate_hz: int = 1000, device_id: int | None = None,
                 serial_number: int | None = None, **options: Unpack[BoardOptions]) -> None:
        if side not in ("left", "right"):
            raise ValueError(f"insole side must be 'left' or 'right', got {side!r}")
        if channel_count not in (8, 16):
            raise ValueError(f"an insole board has 8 or 16 channels, not {channel_count}")
        self.side = side
        self.role = p.BoardRole.INSOLE_LEFT if side == "left" else p.BoardRole.INSOLE_RIGHT
        default_id = 2 if side == "left" else 3
        super().__init__(
            device_id=default_id if device_id is None else device_id,
            channel_map=tuple(range(channel_count)), rate_hz=rate_hz, read_counts=read_counts,
            serial_number=(0x6A17_0000 + default_id) if serial_number is None else serial_number,
            saturation=(-1, 1023), **options)  # an ADC cannot read below 0: only 1023 saturates

    @classmethod
    def rate_is_valid(cls, rate_hz: int) -> bool:
        return 1 <= rate_hz <= 1000
