"""Property tests of the wire decoder against garbage on the serial line
(gaitrig/drivers/protocol.py).

What a noisy, unplugged or half-flashed board can put on the line: random bytes, frames cut
short, flipped bits, stray 0x00 delimiters, runs with no delimiter at all, frames longer than the
protocol allows, all interleaved with good frames and cut into arbitrary read sizes. The decoder
must never raise, never hand out a frame whose CRC is wrong, decode every good frame that follows
a delimiter, and keep at most ``MAX_ENCODED_BYTES`` buffered whatever comes in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cobs import cobs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitrig.drivers import protocol as p
from tests.unit.test_protocol import crc16_by_hand

# Bounded so that the whole module runs in a few seconds, even on a loaded machine.
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

u8, u16, u32 = (st.integers(0, 2**n - 1) for n in (8, 16, 32))


@st.composite
def messages(draw: st.DrawFn) -> p.Message:
    """A valid message of any kind a board sends, with random field values."""
    device, ts = draw(u8), draw(u32)
    kind = draw(st.sampled_from(["data2", "data4", "status", "ack", "hello"]))
    if kind == "data2":
        return p.Data(device, 0, ts, tuple(draw(st.lists(st.integers(-2**15, 2**15 - 1),
                                                         max_size=16))), 2)
    if kind == "data4":
        return p.Data(device, 0, ts, tuple(draw(st.lists(st.integers(-2**31, 2**31 - 1),
                                                         max_size=8))), 4)
    if kind == "status":
        return p.Status(device, 0, ts, p.StatusFlag(draw(st.integers(0, 0x1F))), draw(u16),
                        draw(u16))
    if kind == "ack":
        return p.Ack(device, 0, ts, draw(st.sampled_from(list(p.MessageType))), draw(u16),
                     draw(st.sampled_from(list(p.AckResult))))
    role = draw(st.sampled_from(list(p.BoardRole)))
    if role == p.BoardRole.BARS:  # what the protocol allows a HELLO to declare
        channels = tuple(draw(st.permutations(sorted(p.BAR_CHANNELS))))
        rate = draw(st.sampled_from(p.BARS_RATES_HZ))
    else:
        channels = tuple(draw(st.lists(u8, min_size=1, max_size=16, unique=True)))
        rate = draw(st.integers(1, 1000))
    return p.Hello(device, 0, ts, role, (draw(u8), draw(u8), draw(u8)), rate, draw(u32),
                   channels)


def flip_bits(data: bytes, positions: list[int]) -> bytes:
    """``data`` with the bits at ``positions`` (modulo its length in bits) inverted."""
    out = bytearray(data)
    for position in positions:
        bit = position % (len(out) * 8)
        out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@dataclass(frozen=True)
class Piece:
    """A stretch of the line: ``wire`` bytes, and the message it must yield (None: nothing)."""

    wire: bytes
    expected: p.Message | None


@st.composite
def pieces(draw: st.DrawFn, message: p.Message) -> Piece:
    """``message`` sent intact, or damaged in one of the ways a serial line damages bytes."""
    wire = p.encode(message)
    how = draw(st.sampled_from(["intact", "intact", "crc_bits", "wire_bits", "truncated",
                                "delimiter_inserted", "garbage", "oversize_valid",
                                "oversize_run"]))
    if how == "intact":
        return Piece(wire, message)
    if how == "crc_bits":
        # 1-3 bits flipped in the frame before COBS: CRC-16/CCITT has Hamming distance 4 at these
        # lengths, so every such frame must be caught.
        frame = flip_bits(p.frame_bytes(message), draw(st.lists(u16, min_size=1, max_size=3,
                                                                unique=True)))
        if frame == p.frame_bytes(message):  # two flips of one bit cancel out
            return Piece(wire, message)
        return Piece(cobs.encode(frame) + p.DELIMITER, None)
    if how == "wire_bits":  # bits flipped anywhere on the wire, COBS code bytes included
        return Piece(flip_bits(wire, draw(st.lists(u16, min_size=1, max_size=8))), None)
    if how == "truncated":  # the board reset mid-frame
        return Piece(wire[:draw(st.integers(0, len(wire) - 2))], None)
    if how == "delimiter_inserted":
        cut = draw(st.integers(1, len(wire) - 2))
        return Piece(wire[:cut] + p.DELIMITER + wire[cut:], None)
    if how == "garbage":
        return Piece(draw(st.binary(min_size=1, max_size=64)), None)
    if how == "oversize_valid":  # CRC-valid, but longer than any v1 frame may be
        values = draw(st.lists(st.integers(-2**31, 2**31 - 1), min_size=70, max_size=300))
        return Piece(p.encode(p.Data(message.device_id, 0, 0, tuple(values), 4)), None)
    run = draw(st.integers(p.MAX_ENCODED_BYTES + 1, 4 * p.MAX_ENCODED_BYTES))
    return Piece(bytes([draw(st.integers(1, 255))]) * run, None)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[p.Message], list[int]]:
    """A line: good and damaged frames in a row, and the read sizes it arrives in."""
    sent = draw(st.lists(messages(), min_size=1, max_size=12))
    wire, expected = bytearray(), []
    declared: dict[int, int] = {}  # device -> channels of its HELLO sent intact so far
    for seq, message in enumerate(sent):
        message = replace(message, seq=seq)  # unique and rising, as a board sends them
        if isinstance(message, p.Data) and message.device_id in declared:
            # as a board sends them: as many values as its HELLO declared
            count = declared[message.device_id]
            message = replace(message, values=(message.values + (0,) * count)[:count])
        piece = draw(pieces(message))
        if piece.expected is not None and wire and wire[-1] != 0:
            wire += p.DELIMITER  # the next delimiter after damage is where the stream resyncs
        wire += piece.wire
        if piece.expected is not None:
            expected.append(piece.expected)
        if isinstance(message, p.Hello) and piece.expected is not None:
            declared[message.device_id] = message.channel_count
    reads = draw(st.lists(st.integers(1, 300), min_size=1, max_size=50))
    return bytes(wire), expected, reads


def feed_in_reads(decoder: p.Decoder, wire: bytes, reads: list[int]) -> list[p.Message]:
    """Feed ``wire`` as a serial port returns it, in reads of the given sizes (cycled)."""
    out: list[p.Message] = []
    start, i = 0, 0
    while start < len(wire):
        size = reads[i % len(reads)]
        out += decoder.feed(wire[start:start + size])
        assert decoder.buffered_bytes <= p.MAX_ENCODED_BYTES
        start, i = start + size, i + 1
    return out


def crc_is_right_on_the_wire(message: p.Message, wire: bytes) -> bool:
    """Whether ``message`` appears on ``wire`` as one delimited frame with a correct CRC.

    Checked with a CRC written from its definition, not the decoder's: a message the decoder
    accepted from a frame whose CRC was wrong re-encodes to bytes that are not on the wire.
    """
    encoded = p.encode(message)[:-1]
    if (b"\x00" + encoded + b"\x00") not in (b"\x00" + wire + b"\x00"):
        return False
    frame = cobs.decode(encoded)
    return crc16_by_hand(frame[:-2]) == int.from_bytes(frame[-2:], "little")


@FUZZ
@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_random_bytes_never_raise_and_stay_bounded(data: bytes, reads: list[int]) -> None:
    decoder = p.Decoder()
    accepted = feed_in_reads(decoder, data, reads)
    assert decoder.counters.bytes_received == len(data)
    assert decoder.counters.frames == len(accepted)
    assert all(crc_is_right_on_the_wire(m, data) for m in accepted)


@FUZZ
@given(st.one_of(st.sampled_from([int(t) for t in p.MessageType]), u8), u8, u16, u32,
       st.binary(max_size=40))
def test_any_crc_valid_frame_is_a_message_or_counted_malformed(
        type_code: int, device: int, seq: int, ts: int, payload: bytes) -> None:
    """Frames that pass the CRC with any content: decoded exactly, or rejected and counted."""
    body = p.HEADER.pack(type_code, device, seq, ts) + payload
    frame = body + p.CRC.pack(p.crc16(body))
    decoder = p.Decoder()
    accepted = decoder.feed(cobs.encode(frame) + p.DELIMITER)
    if accepted:
        assert [p.frame_bytes(m) for m in accepted] == [frame]
    else:
        assert decoder.counters.malformed_frames == 1
        assert decoder.rejected[-1] == p.RejectedFrame(type_code, device, seq)


@FUZZ
@given(streams())
def test_good_frames_survive_damaged_neighbours(
        stream: tuple[bytes, list[p.Message], list[int]]) -> None:
    wire, expected, reads = stream
    decoder = p.Decoder()
    accepted = feed_in_reads(decoder, wire, reads)
    sent = [m for m in accepted if m in expected]
    # Every good frame after a delimiter is decoded, once, in order: the decoder resyncs.
    assert sent == expected
    # Anything else it accepted is a frame the damage happened to make whole, CRC and all
    # (one in 65536 by chance for CRC-16), never one whose CRC is wrong.
    assert all(crc_is_right_on_the_wire(m, wire) for m in accepted if m not in expected)


@FUZZ
@given(st.lists(st.tuples(st.binary(max_size=64), st.integers(0, 3000)), min_size=1,
                max_size=30))
def test_no_delimiter_for_ever_keeps_one_frame_of_memory(chunks: list[tuple[bytes, int]]
                                                         ) -> None:
    """Reads of random bytes and long runs (up to 3000 bytes), never a 0x00 among them."""
    decoder = p.Decoder()
    total = 0
    for head, run in chunks:
        chunk = (head + head[:1] * run).replace(b"\x00", b"\x01")
        total += len(chunk)
        assert decoder.feed(chunk) == []
        assert decoder.buffered_bytes <= p.MAX_ENCODED_BYTES
    assert decoder.counters.oversize_frames == (1 if total > p.MAX_ENCODED_BYTES else 0)
    good = p.Data(3, 7, 1234, (1, -2, 3), 2)
    assert decoder.feed(p.DELIMITER + p.encode(good)) == [good]
