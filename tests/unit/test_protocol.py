"""Wire protocol v1: test vectors, an independent frame built by hand, and damaged input."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from gaitrig.drivers import protocol as p
from tests.vectors.make_protocol_vectors import MESSAGES, build, message_to_dict

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "protocol.json").read_text())


def crc16_by_hand(data: bytes) -> int:
    """Bitwise CRC-16/CCITT-FALSE, written from the definition (poly 0x1021, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def cobs_by_hand(data: bytes) -> bytes:
    """COBS after Cheshire & Baker: each block starts with the distance to the next 0."""
    out, block = bytearray(), bytearray()
    for byte in data:
        if byte == 0:
            out += bytes([len(block) + 1]) + block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out += bytes([255]) + block
                block.clear()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def test_vectors_file_matches_the_encoder() -> None:
    stale = "protocol.json is stale: python -m tests.vectors.make_protocol_vectors"
    assert build() == VECTORS, stale


def test_crc_check_value() -> None:
    assert p.crc16(b"123456789") == 0x29B1 == VECTORS["crc16_check"]["crc"]
    data = bytes(random.Random(1).randrange(256) for _ in range(300))
    assert p.crc16(data) == crc16_by_hand(data)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vector_round_trip(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire_hex"])
    frame = bytes.fromhex(vector["frame_hex"])
    assert wire.endswith(b"\x00") and b"\x00" not in wire[:-1]
    assert cobs_by_hand(frame) + b"\x00" == wire
    assert crc16_by_hand(frame[:-2]) == struct.unpack("<H", frame[-2:])[0]
    decoder = p.Decoder()
    (message,) = decoder.feed(wire)
    assert message_to_dict(message) == vector["message"]
    assert p.encode(message) == wire
    assert decoder.counters.crc_errors == 0


def test_frame_built_by_hand_decodes() -> None:
    """A DATA frame assembled byte by byte from docs/protocol.md, not by the encoder."""
    header = bytes([0x02, 0x02]) + (0x1234).to_bytes(2, "little") + (987_654).to_bytes(4, "little")
    payload = bytes([2]) + b"".join(v.to_bytes(2, "little", signed=True) for v in
                                    (0, 1023, 512, 7, 0, 0, 300, 1))
    frame = header + payload
    wire = cobs_by_hand(frame + crc16_by_hand(frame).to_bytes(2, "little")) + b"\x00"
    (message,) = p.Decoder().feed(wire)
    assert message == p.Data(2, 0x1234, 987_654, (0, 1023, 512, 7, 0, 0, 300, 1), 2)


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_damaged_frame_dropped_counted_and_stream_recovers(vector: dict[str, Any]) -> None:
    decoder = p.Decoder()
    messages = decoder.feed(bytes.fromhex(vector["wire_hex"]))
    assert [message_to_dict(m) for m in messages] == [vector["then_valid"]]
    assert getattr(decoder.counters, vector["counter"]) == 1


def test_garbage_between_frames_byte_by_byte() -> None:
    """Garbage with and without delimiters, fed one byte at a time: only the good frames survive."""
    good = [p.Data(2, seq, seq * 1000, (seq,) * 8) for seq in range(20)]
    rng = random.Random(7)
    stream = bytearray()
    for message in good:
        stream += p.encode(message)
        stream += bytes(rng.randrange(1, 256) for _ in range(rng.randrange(0, 40)))
        if rng.random() < 0.5:
            stream += b"\x00"
    decoder = p.Decoder()
    received = [m for i in range(len(stream)) for m in decoder.feed(stream[i:i + 1])]
    assert received  # some frames are glued to garbage with no delimiter between and are lost
    assert all(m in good for m in received)
    assert decoder.counters.crc_errors > 0
    assert decoder.counters.frames == len(received)


def test_oversize_input_is_dropped_and_memory_stays_bounded() -> None:
    decoder = p.Decoder()
    decoder.feed(bytes([0x55]) * 100_000)
    assert len(decoder._buffer) <= p.MAX_ENCODED_BYTES
    assert decoder.counters.oversize_frames == 1
    message = p.Data(1, 0, 0, (1, 2, 3, 4), 4)
    assert decoder.feed(b"\x00" + p.encode(message)) == [message]


def test_sequence_gaps_duplicates_and_wrap() -> None:
    decoder = p.Decoder()
    seqs = [65533, 65534, 65535, 0, 1, 1, 4, 5]  # wraps, one duplicate, 2 and 3 missing
    received = [m.seq for s in seqs for m in decoder.feed(p.encode(p.Data(1, s, 0, (0,) * 4, 4)))]
    assert received == [65533, 65534, 65535, 0, 1, 4, 5]
    assert decoder.counters.duplicates == 1
    assert decoder.counters.sequence_gaps == 1
    assert decoder.counters.frames_lost == 2


def test_hello_restarts_the_sequence() -> None:
    decoder = p.Decoder()
    decoder.feed(p.encode(p.Data(1, 500, 0, (0,) * 4, 4)))
    hello, data = MESSAGES[0][1], p.Data(1, 1, 0, (0,) * 4, 4)
    assert len(decoder.feed(p.encode(hello) + p.encode(data))) == 2
    assert decoder.counters.sequence_gaps == 0


def test_valid_crc_but_bad_content_is_malformed_not_fatal() -> None:
    body = p.HEADER.pack(0x7E, 1, 0, 0) + b"\x01\x02"  # unknown message type
    wire = p.cobs.encode(body + p.CRC.pack(p.crc16(body))) + b"\x00"
    decoder = p.Decoder()
    assert decoder.feed(wire) == []
    assert decoder.counters.malformed_frames == 1


# -- HELLO validation: what a board may declare, and DATA that matches it (issue 13) ----------

def insole_hello(channels: int = 8, rate_hz: int = 1000, device: int = 2) -> p.Hello:
    return p.Hello(device, 0, 0, p.BoardRole.INSOLE_LEFT, (1, 0, 0), rate_hz, 7,
                   tuple(range(channels)))


@pytest.mark.parametrize("hello", [
    insole_hello(channels=0),
    insole_hello(channels=p.MAX_INSOLE_CHANNELS + 1),
    insole_hello(rate_hz=0),
    insole_hello(rate_hz=1001),
    p.Hello(1, 0, 0, p.BoardRole.BARS, (1, 0, 0), 1000, 7, (0, 1, 2, 3)),  # bars at 1 kHz
    p.Hello(1, 0, 0, p.BoardRole.BARS, (1, 0, 0), 80, 7, (0, 1, 2)),  # a load cell short
    p.Hello(2, 0, 0, p.BoardRole.INSOLE_LEFT, (1, 0, 0), 500, 7, (0, 1, 1, 3)),  # twice
], ids=["no_channels", "too_many_channels", "rate_0", "rate_1001", "bars_1khz",
        "bars_3_cells", "channel_twice"])
def test_a_hello_outside_the_protocol_is_malformed_and_not_used(hello: p.Hello) -> None:
    decoder = p.Decoder()
    assert decoder.feed(p.encode(hello)) == []
    assert decoder.counters.malformed_frames == 1 and decoder.counters.frames == 0
    assert "malformed HELLO" in (decoder.last_rejection or "")
    assert "declares" in (decoder.last_rejection or "")
    assert p.hello_problem(hello) is not None


@pytest.mark.parametrize("hello", [
    insole_hello(channels=1, rate_hz=1), insole_hello(channels=16, rate_hz=1000),
    insole_hello(channels=p.MAX_INSOLE_CHANNELS),
    p.Hello(1, 0, 0, p.BoardRole.BARS, (1, 0, 0), 10, 7, (3, 2, 1, 0)),
])
def test_a_hello_at_the_protocol_limits_is_accepted(hello: p.Hello) -> None:
    decoder = p.Decoder()
    assert decoder.feed(p.encode(hello)) == [hello]
    assert p.hello_problem(hello) is None
    # and the longest DATA it can declare fits in one frame
    data = p.Data(hello.device_id, 1, 0, (1,) * hello.channel_count,
                  4 if hello.role == p.BoardRole.BARS else 2)
    assert decoder.feed(p.encode(data)) == [data]


def test_data_with_other_channels_than_the_hello_is_malformed_and_not_used() -> None:
    decoder = p.Decoder()
    hello = insole_hello(channels=8)
    good = [p.Data(2, s, 0, (100,) * 8) for s in (1, 2, 4)]
    short, long = p.Data(2, 3, 0, (100,) * 7), p.Data(2, 5, 0, (100,) * 9)
    other_board = p.Data(3, 1, 0, (5,) * 16)  # no HELLO from device 3: not judged
    wire = b"".join(p.encode(m) for m in [hello, good[0], good[1], short, good[2], long,
                                           other_board])
    assert decoder.feed(wire) == [hello, *good, other_board]
    assert decoder.counters.malformed_frames == 2
    assert "declared 8" in (decoder.last_rejection or "")
    # the rejected frames spent their sequence numbers: no frame counted lost
    assert decoder.counters.sequence_gaps == 0 and decoder.counters.frames_lost == 0
    # a board that reboots with another HELLO: its new channel count rules
    rebooted = insole_hello(channels=16)
    assert decoder.feed(p.encode(rebooted) + p.encode(p.Data(2, 1, 0, (1,) * 16))) == [
        rebooted, p.Data(2, 1, 0, (1,) * 16)]
    assert decoder.feed(p.encode(p.Data(2, 2, 0, (1,) * 8))) == []
    assert decoder.counters.malformed_frames == 3
