"""Wire protocol v1 between the rig's boards and the host (specification: docs/protocol.md).

A frame on the wire is ``COBS(header + payload + crc) + b"\\x00"``:

* header, 8 bytes little-endian: message type (u8), device id (u8), sequence number (u16,
  wraps), device timestamp in microseconds (u32, wraps);
* payload, depending on the message type;
* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over header + payload, u16 little-endian.

The :class:`Decoder` never raises on bad bytes: a damaged frame is dropped, the stream resyncs at
the next 0x00 delimiter, and the damage is counted in :class:`LinkCounters`.
"""

from __future__ import annotations

import binascii
import functools
import struct
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from cobs import cobs

PROTOCOL_VERSION = 1
DELIMITER = b"\x00"
HEADER = struct.Struct("<BBHI")
CRC = struct.Struct("<H")
#: Longest decoded frame accepted (header + payload + CRC), bytes. Anything longer is garbage.
MAX_FRAME_BYTES = 8 + 255 + 2
#: Longest encoded frame (COBS adds one byte per 254 and one leading byte), bytes.
MAX_ENCODED_BYTES = MAX_FRAME_BYTES + MAX_FRAME_BYTES // 254 + 2
BROADCAST_DEVICE = 0xFF
U16 = 0x1_0000
U32 = 0x1_0000_0000


class MessageType(IntEnum):
    HELLO = 0x01
    DATA = 0x02
    STATUS = 0x03
    ACK = 0x04
    CMD_START = 0x10
    CMD_STOP = 0x11
    CMD_SET_RATE = 0x12
    CMD_IDENTIFY = 0x13


class BoardRole(IntEnum):
    """What a board measures; a board says it in its HELLO."""

    BARS = 1
    INSOLE_LEFT = 2
    INSOLE_RIGHT = 3


class StatusFlag(IntFlag):
    AMPLIFIER_NOT_READY = 0x0001  # an HX711 did not signal data ready in time (or is unplugged)
    TX_OVERFLOW = 0x0002  # the transmit buffer was full: frames were dropped on the board
    SAMPLE_OVERRUN = 0x0004  # a sample tick came before the previous sample was taken
    ADC_SATURATED = 0x0008  # a channel read its full-scale value
    BAD_COMMAND = 0x0010  # a command frame was malformed


class AckResult(IntEnum):
    OK = 0
    INVALID_ARGUMENT = 1
    UNSUPPORTED = 2
    BAD_STATE = 3


#: Channel ids of the bars board: one load cell under each end of each parallel bar.
BAR_CHANNELS = {0: "left_bar_front", 1: "left_bar_rear", 2: "right_bar_front", 3: "right_bar_rear"}
#: The most channels an insole board may declare: a DATA payload of 2-byte values fits 255 bytes.
MAX_INSOLE_CHANNELS = (255 - 1) // 2
#: Sample rates a HELLO may declare (Hz): the bars board's two HX711 rates, an insole's range.
BARS_RATES_HZ = (10, 80)
INSOLE_RATES_HZ = range(1, 1001)

_HELLO = struct.Struct("<BBBBBBHI")
_STATUS = struct.Struct("<HHH")
_ACK = struct.Struct("<BHB")
_RATE = struct.Struct("<H")
_VALUE_FORMATS = {2: "h", 4: "i"}


def command_type(code: int) -> MessageType | int:
    """The message type for ``code``, or the code itself when protocol v1 does not define it."""
    try:
        return MessageType(code)
    except ValueError:
        return code


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (check value for b"123456789" is 0x29B1)."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Message:
    """Fields every frame carries. ``timestamp_us``: the board's own clock (µs, wraps at 2**32)."""

    device_id: int
    seq: int
    timestamp_us: int

    @property
    def type(self) -> MessageType:
        raise NotImplementedError

    def payload(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class Hello(Message):
    """Sent by a board at power-up and in answer to IDENTIFY."""

    role: BoardRole
    firmware_version: tuple[int, int, int]
    sample_rate_hz: int
    serial_number: int
    channel_map: tuple[int, ...]
    protocol_version: int = PROTOCOL_VERSION

    @property
    def type(self) -> MessageType:
        return MessageType.HELLO

    @property
    def channel_count(self) -> int:
        return len(self.channel_map)

    def payload(self) -> bytes:
        major, minor, patch = self.firmware_version
        head = _HELLO.pack(
            self.role, self.protocol_version, major, minor, patch, len(self.channel_map),
            self.sample_rate_hz, self.serial_number,
        )
        return head + bytes(self.channel_map)


@dataclass(frozen=True, slots=True)
class Data(Message):
    """One sample of every channel, as raw signed integers (ADC or amplifier counts).

    ``value_bytes`` is the width of each value on the wire: 2 (insoles, 10-bit ADC) or 4 (bars,
    HX711 24-bit two's complement sign-extended).
    """

    values: tuple[int, ...]
    value_bytes: int = 2

    @property
    def type(self) -> MessageType:
        return MessageType.DATA

    def payload(self) -> bytes:
        fmt = _VALUE_FORMATS[self.value_bytes]
        return bytes([self.value_bytes]) + struct.pack(f"<{len(self.values)}{fmt}", *self.values)


@dataclass(frozen=True, slots=True)
class Status(Message):
    """Problems the board saw since its previous STATUS: flags, which channels, frames dropped."""

    flags: StatusFlag
    channel_mask: int = 0
    dropped_frames: int = 0

    @property
    def type(self) -> MessageType:
        return MessageType.STATUS

    def payload(self) -> bytes:
        return _STATUS.pack(int(self.flags), self.channel_mask, self.dropped_frames)


@dataclass(frozen=True, slots=True)
class Ack(Message):
    """A board's answer to a host command, naming the command's type and sequence number.

    ``command`` is a plain int when the board answers a frame type this host does not know.
    """

    command: MessageType | int
    command_seq: int
    result: AckResult = AckResult.OK

    @property
    def type(self) -> MessageType:
        return MessageType.ACK

    def payload(self) -> bytes:
        return _ACK.pack(self.command, self.command_seq, self.result)


@dataclass(frozen=True, slots=True)
class Command(Message):
    """Host-to-board command: START, STOP, SET_RATE (``rate_hz``) or IDENTIFY."""

    command: MessageType
    rate_hz: int = 0

    @property
    def type(self) -> MessageType:
        return self.command

    def payload(self) -> bytes:
        return _RATE.pack(self.rate_hz) if self.command == MessageType.CMD_SET_RATE else b""


def frame_bytes(message: Message) -> bytes:
    """The decoded frame (header + payload + CRC), before COBS."""
    body = HEADER.pack(message.type, message.device_id, message.seq % U16,
                       message.timestamp_us % U32) + message.payload()
    return body + CRC.pack(crc16(body))


def encode(message: Message) -> bytes:
    """The bytes a board (or the host, for commands) writes on the serial line."""
    return bytes(cobs.encode(frame_bytes(message))) + DELIMITER


class FrameError(ValueError):
    """A frame that passed its CRC but whose content is not a valid v1 message."""


@dataclass(frozen=True, slots=True)
class RejectedFrame:
    """Header of a CRC-valid frame that was not a valid message (a board ACKs it UNSUPPORTED)."""

    type_code: int
    device_id: int
    seq: int


def parse_frame(frame: bytes) -> Message:
    """Decode one CRC-checked frame (without the CRC) into a message, or raise FrameError."""
    if len(frame) < HEADER.size:
        raise FrameError(f"frame of {len(frame)} bytes is shorter than the header")
    type_code, device_id, seq, timestamp_us = HEADER.unpack_from(frame)
    payload = frame[HEADER.size:]
    kind = _MESSAGE_TYPES.get(type_code)
    if kind is None:
        raise FrameError(f"unknown message type 0x{type_code:02x}")
    try:
        return _PARSERS[kind](kind, device_id, seq, timestamp_us, payload)
    except (struct.error, ValueError, KeyError) as exc:
        raise FrameError(f"malformed {kind.name} payload: {exc}") from None


def _parse_hello(_: MessageType, dev: int, seq: int, ts: int, p: bytes) -> Hello:
    role, proto, major, minor, patch, count, rate, serial = _HELLO.unpack_from(p)
    channel_map = tuple(p[_HELLO.size:])
    if len(channel_map) != count:
        raise ValueError(f"channel map has {len(channel_map)} entries, header says {count}")
    hello = Hello(dev, seq, ts, BoardRole(role), (major, minor, patch), rate, serial,
                  channel_map, proto)
    if proto == PROTOCOL_VERSION and (problem := hello_problem(hello)):
        raise ValueError(problem)  # another version's HELLO: the link says which to update
    return hello


def hello_problem(hello: Hello) -> str | None:
    """Why a v1 HELLO declares what the protocol does not allow (docs/protocol.md), or None:
    the bars board has the 4 load cells (channels 0-3) at 10 or 80 Hz; an insole board 1 to
    :data:`MAX_INSOLE_CHANNELS` distinct sensors at 1-1000 Hz."""
    channels, rate = hello.channel_map, hello.sample_rate_hz
    if len(set(channels)) != len(channels):
        return f"a board declares a channel twice: {channels}"
    if hello.role == BoardRole.BARS:
        if sorted(channels) != sorted(BAR_CHANNELS):
            return f"a bars board has channels 0-3, this one declares {channels}"
        if rate not in BARS_RATES_HZ:
            return f"a bars board samples at 10 or 80 Hz, this one declares {rate} Hz"
        return None
    if not 1 <= len(channels) <= MAX_INSOLE_CHANNELS:
        return (f"an insole board has 1-{MAX_INSOLE_CHANNELS} channels, this one declares "
                f"{len(channels)}")
    if rate not in INSOLE_RATES_HZ:
        return f"an insole board samples at 1-1000 Hz, this one declares {rate} Hz"
    return None


def _parse_data(_: MessageType, dev: int, seq: int, ts: int, p: bytes) -> Data:
    if not p:
        raise ValueError("no value-width byte")
    width = p[0]
    fmt = _VALUE_FORMATS[width]
    count, rest = divmod(len(p) - 1, width)
    if rest:
        raise ValueError(f"{len(p) - 1} value bytes is not a multiple of {width}")
    return Data(dev, seq, ts, _values_struct(count, fmt).unpack_from(p, 1), width)


@functools.cache
def _values_struct(count: int, fmt: str) -> struct.Struct:
    """The compiled layout of ``count`` values of format ``fmt`` (a few distinct ones a rig)."""
    return struct.Struct(f"<{count}{fmt}")


def _parse_status(_: MessageType, dev: int, seq: int, ts: int, p: bytes) -> Status:
    flags, mask, dropped = _STATUS.unpack(p)
    return Status(dev, seq, ts, StatusFlag(flags), mask, dropped)


def _parse_ack(_: MessageType, dev: int, seq: int, ts: int, p: bytes) -> Ack:
    command, command_seq, result = _ACK.unpack(p)
    return Ack(dev, seq, ts, command_type(command), command_seq, AckResult(result))


def _parse_command(kind: MessageType, dev: int, seq: int, ts: int, p: bytes) -> Command:
    if kind == MessageType.CMD_SET_RATE:
        (rate,) = _RATE.unpack(p)
        return Command(dev, seq, ts, kind, rate)
    if p:
        raise ValueError(f"{kind.name} carries no payload, got {len(p)} bytes")
    return Command(dev, seq, ts, kind)


_MESSAGE_TYPES = {int(kind): kind for kind in MessageType}
_PARSERS = {
    MessageType.HELLO: _parse_hello,
    MessageType.DATA: _parse_data,
    MessageType.STATUS: _parse_status,
    MessageType.ACK: _parse_ack,
    MessageType.CMD_START: _parse_command,
    MessageType.CMD_STOP: _parse_command,
    MessageType.CMD_SET_RATE: _parse_command,
    MessageType.CMD_IDENTIFY: _parse_command,
}


@dataclass(slots=True)
class LinkCounters:
    """What a decoder has seen on one serial line since it was created.

    ``crc_errors`` counts every frame dropped for failing its integrity check (broken COBS
    structure, too short, or CRC mismatch); ``malformed_frames`` frames whose CRC was right but
    whose content was not a valid message (a HELLO declaring channels or a rate the protocol does
    not allow, a DATA frame whose channel count is not the one its board's HELLO declared);
    ``sequence_gaps`` the number of places where one or
    more frames went missing and ``frames_lost`` how many went missing in all; ``duplicates``
    frames repeating the previous sequence number (dropped).
    """

    frames: int = 0
    crc_errors: int = 0
    malformed_frames: int = 0
    oversize_frames: int = 0
    sequence_gaps: int = 0
    frames_lost: int = 0
    duplicates: int = 0
    bytes_received: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Decoder:
    """Turns a byte stream into messages. Keeps no more than one frame of bytes buffered."""

    counters: LinkCounters = field(default_factory=LinkCounters)
    #: Off on a board reading host commands: a host that reconnects starts its counter afresh.
    track_sequence: bool = True
    #: The most recent CRC-valid frames that were not valid messages (bounded).
    rejected: deque[RejectedFrame] = field(default_factory=lambda: deque(maxlen=16))
    _buffer: bytearray = field(default_factory=bytearray)
    _discarding: bool = False
    _last_seq: dict[int, int] = field(default_factory=dict)
    #: device id -> the channel count its newest HELLO declared (DATA must carry as many)
    _channels: dict[int, int] = field(default_factory=dict)
    #: why the newest malformed frame was rejected (for the link's error message)
    last_rejection: str | None = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held while waiting for a delimiter; never more than ``MAX_ENCODED_BYTES``."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        """Consume ``data``; return the complete, valid messages it finished, in order."""
        self.counters.bytes_received += len(data)
        messages: list[Message] = []
        *complete, rest = data.split(DELIMITER)
        for chunk in complete:
            if not self._buffer and not self._discarding:
                # The common case, a whole frame inside ``data``: decode it without copying it
                # into the buffer and out again.
                encoded: bytes = chunk
                if len(chunk) > MAX_ENCODED_BYTES:
                    self.counters.oversize_frames += 1
                    continue
            else:
                self._append(chunk)
                discarding, self._discarding = self._discarding, False
                encoded = b"" if discarding else bytes(self._buffer)
                self._buffer.clear()
            if encoded:
                message = self._decode(encoded)
                if message is not None:
                    messages.append(message)
        self._append(rest)
        return messages

    def _append(self, chunk: bytes) -> None:
        if self._discarding or not chunk:
            return
        if len(self._buffer) + len(chunk) > MAX_ENCODED_BYTES:
            self.counters.oversize_frames += 1
            self._buffer.clear()
            self._discarding = True  # drop everything up to the next delimiter
            return
        self._buffer += chunk

    def _decode(self, encoded: bytes) -> Message | None:
        try:
            frame = cobs.decode(encoded)
        except cobs.DecodeError:
            self.counters.crc_errors += 1
            return None
        if len(frame) < HEADER.size + CRC.size or crc16(frame[:-2]) != CRC.unpack(frame[-2:])[0]:
            self.counters.crc_errors += 1
            return None
        try:
            message = parse_frame(frame[:-2])
        except FrameError as exc:
            self._reject(frame, str(exc))
            return None
        if self.track_sequence and not self._in_sequence(message):
            return None
        if isinstance(message, Hello):
            self._channels[message.device_id] = message.channel_count
        elif isinstance(message, Data):  # its sequence number is spent: no gap after it
            declared = self._channels.get(message.device_id)
            if declared is not None and len(message.values) != declared:
                self._reject(frame, f"DATA with {len(message.values)} channels, the board's "
                             f"HELLO declared {declared}")
                return None
        self.counters.frames += 1
        return message

    def _reject(self, frame: bytes, why: str) -> None:
        """A CRC-valid frame that is not a valid message: counted, remembered, not used."""
        self.counters.malformed_frames += 1
        self.last_rejection = why
        type_code, device_id, seq, _ = HEADER.unpack_from(frame)
        self.rejected.append(RejectedFrame(type_code, device_id, seq))

    def _in_sequence(self, message: Message) -> bool:
        """Track sequence numbers per device; False for a duplicate that must be dropped."""
        if isinstance(message, Hello):
            self._last_seq[message.device_id] = message.seq  # a (re)booted board starts afresh
            return True
        last = self._last_seq.get(message.device_id)
        self._last_seq[message.device_id] = message.seq
        if last is None:
            return True
        missing = (message.seq - last - 1) % U16
        if missing == U16 - 1:
            self.counters.duplicates += 1
            return False
        if missing:
            self.counters.sequence_gaps += 1
            self.counters.frames_lost += missing
        return True
