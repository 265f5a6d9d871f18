"""One board on one serial port: open, handshake, reader thread or polling, reconnect, counters.

The same class talks to a real Arduino (``/dev/ttyACM0``), a board simulated in simavr, and the
virtual rig's pseudo-terminals: they are all serial ports opened with pyserial. Framing is the
decoder's job (``gaitrig.drivers.protocol``); transport is this module's (after pyserial's own
``serial.threaded``: a reader thread hands bytes to a protocol object).

A link keeps its reader thread only for the handshake; while the board streams, its owner calls
:meth:`BoardLink.poll`, which returns what has arrived (and what the handshake's thread read
after START), in order.
The live server polls every board right before it takes a block for the display (60 times a
second) instead of waking a thread for every USB packet (500 a second for each insole at
1000 Hz): the same frames, a fraction of the thread wake-ups and hand-overs (docs/benchmarks.md).
A port holds far more than one display interval of frames (about 20 KB: 0.7 s of an insole).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import serial

from gaitrig.drivers import protocol as p
from gaitrig.drivers.clock_sync import DeviceClock

log = logging.getLogger(__name__)



class Received(NamedTuple):
    """A valid message and its host monotonic time (s): for DATA, the moment the sample was
    taken (the board's clock mapped onto the host's); otherwise its arrival."""

    message: p.Message
    host_time_s: float


BAUD_RATE = 1_000_000
#: How often IDENTIFY is repeated while waiting for a board's HELLO (s).
IDENTIFY_EVERY_S = 0.25
#: The most bytes one read of a poll asks for, and one poll takes (far more than a display
#: interval holds: 9.7 KB at 20 kHz).
POLL_CHUNK_BYTES = 1 << 16
POLL_MAX_BYTES = 1 << 20


class HandshakeError(RuntimeError):
    """The port opened but no gaitrig board answered as the protocol requires."""


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """A snapshot for the console and ``GET /api/devices``."""

    name: str
    port: str
    connected: bool
    role: str | None
    serial_number: int | None
    firmware_version: str | None
    sample_rate_hz: int | None
    last_frame_age_s: float | None
    reconnects: int
    counters: dict[str, int]
    status_flags: int
    last_error: str | None
    clock_drift_ppm: float
    clock_drift_implausible: bool = False  # over gaitrig.drivers.clock_sync.MAX_DRIFT_PPM: not used


class BoardLink:
    """A board on a serial port, kept connected for as long as the link is open.

    ``open()`` connects and performs the handshake (IDENTIFY -> HELLO + ACK, SET_RATE when
    ``sample_rates_hz`` names a rate for the board's role, START) and raises
    :class:`HandshakeError` with a clear message when that fails. After that a supervisor thread
    keeps the link up: when the port disappears (board unplugged) it retries
    every ``retry_interval_s`` and repeats the handshake when the port is back.

    Once the board streams, no thread reads the port: the owner calls :meth:`poll` (module
    docstring).
    """

    def __init__(
        self,
        port: str,
        *,
        name: str | None = None,
        sample_rates_hz: Mapping[p.BoardRole, int] | None = None,
        handshake_timeout_s: float = 3.0,
        retry_interval_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.port = port
        self.name = name or port
        self.sample_rates_hz = dict(sample_rates_hz or {})
        self.handshake_timeout_s = handshake_timeout_s
        self.retry_interval_s = retry_interval_s
        self.clock = clock
        self.decoder = p.Decoder()
        self.device_clock = DeviceClock()
        self.hello: p.Hello | None = None
        self.reconnects = 0
        self._ever_connected = False
        self.status_flags = p.StatusFlag(0)
        self.last_error: str | None = None
        self.last_frame_time_s: float | None = None
        self._serial: serial.Serial | None = None
        self._polled_port: serial.Serial | None = None  # set while the board streams
        # What the handshake's reader thread read and the owner has not polled yet.
        self._early: list[Received] = []
        self._reader_stop: serial.Serial | None = None  # the port whose reader must end
        self._lock = threading.Lock()
        self._acks: dict[int, p.Ack] = {}
        self._ack_event = threading.Condition(self._lock)
        self._hello_event = threading.Event()
        self._command_seq = 0
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._serial is not None and self.hello is not None

    def open(self) -> p.Hello:
        """Connect and handshake now; then keep the link up in the background."""
        hello = self._connect()
        self._ever_connected = True
        self._thread = threading.Thread(target=self._run, name=f"link-{self.name}", daemon=True)
        self._thread.start()
        return hello

    def identify(self) -> p.Hello:
        """Open the port, ask the board who it is, and close again (no streaming)."""
        try:
            return self._connect(stream=False)
        finally:
            self._drop_port()

    def start(self) -> None:
        """Connect in the background (retrying until the board answers) and keep the link up."""
        self._thread = threading.Thread(target=self._run, name=f"link-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the stream (best effort), close the port and stop the reader thread."""
        self._closing.set()
        ser = self._serial
        if ser is not None and self.hello is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                self._write(p.Command(self._device(), self._next_seq(), 0, p.MessageType.CMD_STOP))
        self._drop_port()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def command(self, command: p.MessageType, rate_hz: int = 0, timeout_s: float = 1.0) -> p.Ack:
        """Send a host command and wait for its ACK; raise TimeoutError without one. (A
        link that streams gets the ACK only with its owner's polls, on another thread.)"""
        seq = self._next_seq()
        self._write(p.Command(self._device(), seq, 0, command, rate_hz))
        deadline = self.clock() + timeout_s
        with self._lock:
            while seq not in self._acks:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.name}: no ACK for {command.name} within {timeout_s} s")
                self._ack_event.wait(remaining)
            return self._acks.pop(seq)

    def status(self) -> LinkStatus:
        now = self.clock()
        hello = self.hello
        age = None if self.last_frame_time_s is None else now - self.last_frame_time_s
        return LinkStatus(
            name=self.name,
            port=self.port,
            connected=self.connected,
            role=hello.role.name.lower() if hello else None,
            serial_number=hello.serial_number if hello else None,
            firmware_version=".".join(map(str, hello.firmware_version)) if hello else None,
            sample_rate_hz=hello.sample_rate_hz if hello else None,
            last_frame_age_s=age,
            reconnects=self.reconnects,
            counters=self.decoder.counters.as_dict(),
            status_flags=int(self.status_flags),
            last_error=self.last_error,
            clock_drift_ppm=self.device_clock.drift_ppm,
            clock_drift_implausible=self.device_clock.drift_implausible,
        )

    def poll(self) -> list[Received]:
        """What has arrived since the last poll, decoded on the caller's thread, in order (none
        while the board is not streaming); first what the handshake's thread read after START."""
        with self._lock:
            received, self._early = self._early, []
        ser = self._polled_port
        if ser is None:
            return received
        try:
            fd = ser.fileno()
            if not select.select([fd], [], [], 0)[0]:
                return received
            data = os.read(fd, POLL_CHUNK_BYTES)
            if not data:  # readable yet empty: hung up (as pyserial's own read concludes)
                raise OSError("the device reports data but returned none: disconnected?")
            # A read returns at most the line discipline's buffer (4 KiB on Linux), however much
            # is waiting: read until the port is empty (pyserial sets VMIN 0: b"" then).
            while len(data) < POLL_MAX_BYTES and (more := _read_more(fd)):
                data += more
        except BlockingIOError:
            return received
        except (OSError, ValueError, serial.SerialException) as exc:
            # ValueError/SerialException: the port was closed by another thread meanwhile.
            self._lost(ser, exc)
            return received
        return received + self._handle(self.decoder.feed(data))

    def fileno(self) -> int | None:
        """The streaming port's file descriptor (to wait on with select), else None."""
        ser = self._polled_port
        return None if ser is None else ser.fileno()

    # -- connection ----------------------------------------------------------------------------

    def _connect(self, stream: bool = True) -> p.Hello:
        try:
            ser = serial.Serial(self.port, BAUD_RATE, timeout=0.05, write_timeout=0.5)
        except (OSError, serial.SerialException) as exc:
            raise HandshakeError(f"cannot open {self.port}: {exc}") from exc
        self.hello = None
        self._hello_event.clear()
        self._serial = ser
        reader = threading.Thread(target=self._read_loop, args=(ser,), daemon=True,
                                  name=f"reader-{self.name}")
        reader.start()
        try:
            # IDENTIFY is broadcast (we do not know the board's device id yet), and repeated: an
            # Arduino resets when its port opens and listens only after its bootloader (~1.5 s).
            deadline = self.clock() + self.handshake_timeout_s
            while not self._hello_event.is_set() and (left := deadline - self.clock()) > 0:
                self._write(p.Command(p.BROADCAST_DEVICE, self._next_seq(), 0,
                                      p.MessageType.CMD_IDENTIFY))
                self._hello_event.wait(min(IDENTIFY_EVERY_S, left))
            if not self._hello_event.is_set():
                if any(r.type_code == p.MessageType.HELLO for r in self.decoder.rejected):
                    raise HandshakeError(  # a board, but not one the protocol allows
                        f"{self.port}: HELLO refused: {self.decoder.last_rejection}")
                raise HandshakeError(
                    f"no HELLO from {self.port} within {self.handshake_timeout_s} s: "
                    "is this a gaitrig board?")
            hello = self.hello
            assert hello is not None
            if hello.protocol_version != p.PROTOCOL_VERSION:
                raise HandshakeError(
                    f"{self.port} speaks protocol v{hello.protocol_version}, "
                    f"this host speaks v{p.PROTOCOL_VERSION}: update the firmware")
            if not stream:
                return hello
            rate_hz = self.sample_rates_hz.get(hello.role)
            if rate_hz and rate_hz != hello.sample_rate_hz:
                self._expect_ok(p.MessageType.CMD_SET_RATE, rate_hz)
                self.hello = hello = _with_rate(hello, rate_hz)
            self._expect_ok(p.MessageType.CMD_START)
            self._hand_over_to_polling(ser, reader)  # the owner reads: the reader ends first
        except (HandshakeError, TimeoutError, OSError, serial.SerialException) as exc:
            self._drop_port()
            if isinstance(exc, HandshakeError):
                raise
            raise HandshakeError(f"handshake with {self.port} failed: {exc}") from exc
        self.last_error = None
        log.info("%s: %s on %s, firmware %s, %d channels at %d Hz", self.name, hello.role.name,
                 self.port, ".".join(map(str, hello.firmware_version)), hello.channel_count,
                 hello.sample_rate_hz)
        return hello

    def _expect_ok(self, command: p.MessageType, rate_hz: int = 0) -> None:
        ack = self.command(command, rate_hz, self.handshake_timeout_s)
        if ack.result != p.AckResult.OK:
            raise HandshakeError(f"{self.port} refused {command.name}: {ack.result.name}")

    def _run(self) -> None:
        """Supervisor: while the link is open, reconnect whenever the port is lost."""
        while not self._closing.is_set():
            if self._serial is None:
                try:
                    self._connect()
                    if self._ever_connected:
                        self.reconnects += 1
                        log.warning("%s: reconnected on %s", self.name, self.port)
                    self._ever_connected = True
                except HandshakeError as exc:
                    self.last_error = str(exc)
            self._closing.wait(self.retry_interval_s)

    def _hand_over_to_polling(self, ser: serial.Serial, reader: threading.Thread) -> None:
        """End the reader thread (within its 50 ms read timeout), then let :meth:`poll` read:
        never both at once, they share the decoder."""
        self._reader_stop = ser
        reader.join(timeout=1.0)
        if reader.is_alive():
            raise HandshakeError(f"{self.port}: the reader thread did not stop for polling")
        self._polled_port = ser

    def _read_loop(self, ser: serial.Serial) -> None:
        while (not self._closing.is_set() and self._is_current(ser)
               and self._reader_stop is not ser):
            try:
                # Wait for the first byte, then take the rest of the burst in the same call, so
                # that a USB packet of frames is decoded and handed on once, not byte + rest.
                data = ser.read(1)
                if data and (waiting := ser.in_waiting):
                    data += ser.read(waiting)
            except (OSError, serial.SerialException, TypeError) as exc:
                # TypeError: pyserial reading a port closed under it by another thread.
                self._lost(ser, exc)
                return
            if data:
                received = self._handle(self.decoder.feed(data))
                with self._lock:  # the owner's next poll takes them (HELLO and ACKs too)
                    self._early.extend(received)

    def _is_current(self, ser: serial.Serial) -> bool:
        return self._serial is ser

    def _lost(self, ser: serial.Serial, exc: BaseException) -> None:
        """Reading ``ser`` failed: unless it was already dropped (closed on purpose), drop it;
        the supervisor reconnects."""
        if self._is_current(ser):
            self.last_error = f"{self.port} lost: {exc}"
            log.warning("%s: %s", self.name, self.last_error)
            self._drop_port()

    def _handle(self, messages: list[p.Message]) -> list[Received]:
        now = self.clock()
        received = []
        for message in messages:
            self.last_frame_time_s = now
            when = now
            if isinstance(message, p.Data):
                when = self.device_clock.observe(message.timestamp_us, now)
            elif isinstance(message, p.Hello):
                if self.hello is None or message.seq == 0:
                    self.device_clock.reset()  # first contact, or the board rebooted
                self.hello = message
                self._hello_event.set()
            elif isinstance(message, p.Ack):
                with self._lock:
                    self._acks[message.command_seq] = message
                    self._ack_event.notify_all()
            elif isinstance(message, p.Status):
                self.status_flags = message.flags
                log.warning("%s: board status %s on channels 0x%04x, %d frames dropped",
                            self.name, message.flags, message.channel_mask,
                            message.dropped_frames)
            received.append(Received(message, when))
        return received

    # -- helpers -------------------------------------------------------------------------------

    def _device(self) -> int:
        return self.hello.device_id if self.hello else p.BROADCAST_DEVICE

    def _next_seq(self) -> int:
        with self._lock:
            self._command_seq = (self._command_seq + 1) % p.U16
            return self._command_seq

    def _write(self, command: p.Command) -> None:
        ser = self._serial
        if ser is None:
            raise serial.SerialException(f"{self.port} is not connected")
        ser.write(p.encode(command))

    def _drop_port(self) -> None:
        ser, self._serial = self._serial, None
        self._polled_port = self._reader_stop = None
        self.hello = None
        if ser is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                ser.close()


def _with_rate(hello: p.Hello, rate_hz: int) -> p.Hello:
    return p.Hello(hello.device_id, hello.seq, hello.timestamp_us, hello.role,
                   hello.firmware_version, rate_hz, hello.serial_number, hello.channel_map,
                   hello.protocol_version)


def readable(links: list[BoardLink], timeout_s: float) -> list[BoardLink]:
    """Wait until some of the streaming polled ``links`` have bytes to read, at most
    ``timeout_s`` (s); return those (all of them if a port closed meanwhile: their next poll
    finds out). With none streaming, just wait."""
    by_fd = {fd: link for link in links if (fd := link.fileno()) is not None}
    if not by_fd:
        time.sleep(timeout_s)
        return []
    try:
        ready, _, _ = select.select(list(by_fd), [], [], timeout_s)
    except (OSError, ValueError):
        return list(by_fd.values())
    return [by_fd[fd] for fd in ready]


def _read_more(fd: int) -> bytes:
    """What else is waiting on ``fd`` (b"" when nothing is)."""
    try:
        return os.read(fd, POLL_CHUNK_BYTES)
    except BlockingIOError:
        return b""
