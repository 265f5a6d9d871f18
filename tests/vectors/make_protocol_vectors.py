"""Write tests/vectors/protocol.json: wire bytes <-> decoded message for protocol v1.

The file is committed; it is regenerated only when the protocol changes on purpose
(``python -m tests.vectors.make_protocol_vectors``). Python tests and the firmware's host tests
both check their encoders and decoders against it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gaitrig.drivers import protocol as p


def message_to_dict(m: p.Message) -> dict[str, Any]:
    d: dict[str, Any] = {"type": m.type.name, "device_id": m.device_id, "seq": m.seq,
                         "timestamp_us": m.timestamp_us}
    if isinstance(m, p.Hello):
        d |= {"role": int(m.role), "protocol_version": m.protocol_version,
              "firmware_version": list(m.firmware_version), "sample_rate_hz": m.sample_rate_hz,
              "serial_number": m.serial_number, "channel_map": list(m.channel_map)}
    elif isinstance(m, p.Data):
        d |= {"value_bytes": m.value_bytes, "values": list(m.values)}
    elif isinstance(m, p.Status):
        d |= {"flags": int(m.flags), "channel_mask": m.channel_mask,
              "dropped_frames": m.dropped_frames}
    elif isinstance(m, p.Ack):
        d |= {"command": int(m.command), "command_seq": m.command_seq, "result": int(m.result)}
    elif isinstance(m, p.Command):
        d |= {"rate_hz": m.rate_hz}
    return d


MESSAGES: list[tuple[str, p.Message]] = [
    ("hello_bars", p.Hello(1, 0, 0, p.BoardRole.BARS, (1, 0, 0), 80, 0x00010001, (0, 1, 2, 3))),
    ("hello_insole_left_8", p.Hello(2, 0, 1_000_000, p.BoardRole.INSOLE_LEFT, (1, 2, 3), 1000,
                                    0xDEADBEEF, tuple(range(8)))),
    ("hello_insole_right_16", p.Hello(3, 65535, 4_294_967_295, p.BoardRole.INSOLE_RIGHT,
                                      (2, 0, 17), 500, 7, tuple(range(16)))),
    ("data_insole_8", p.Data(2, 1, 1_001_000, (0, 1, 512, 1023, 7, 300, 0, 1000))),
    ("data_insole_zeros", p.Data(2, 2, 1_002_000, (0,) * 8)),
    ("data_insole_16", p.Data(3, 0, 0, tuple(range(0, 1024, 64)))),
    ("data_bars_24bit", p.Data(1, 513, 12_500, (8_388_607, -8_388_608, -1, 123_456), 4)),
    ("data_seq_wrap", p.Data(1, 65535, 4_294_967_000, (0, 0, 0, 0), 4)),
    ("status_amplifier_not_ready",
     p.Status(1, 7, 99_000, p.StatusFlag.AMPLIFIER_NOT_READY, 0b0100)),
    ("status_tx_overflow", p.Status(2, 8, 5, p.StatusFlag.TX_OVERFLOW | p.StatusFlag.ADC_SATURATED,
                                    0x00FF, 12)),
    ("ack_start", p.Ack(2, 9, 10, p.MessageType.CMD_START, 3)),
    ("ack_set_rate_invalid", p.Ack(2, 10, 11, p.MessageType.CMD_SET_RATE, 4,
                                   p.AckResult.INVALID_ARGUMENT)),
    ("cmd_start", p.Command(p.BROADCAST_DEVICE, 0, 0, p.MessageType.CMD_START)),
    ("cmd_stop", p.Command(2, 1, 0, p.MessageType.CMD_STOP)),
    ("cmd_set_rate_1000", p.Command(2, 2, 0, p.MessageType.CMD_SET_RATE, 1000)),
    ("cmd_identify", p.Command(3, 3, 0, p.MessageType.CMD_IDENTIFY)),
]

# Damaged frames a decoder must drop (and count), each followed by a valid frame it must keep.
_GOOD = p.encode(p.Data(2, 5, 0, (1, 2, 3, 4, 5, 6, 7, 8)))
_BAD_CRC = bytearray(p.frame_bytes(p.Data(2, 4, 0, (1,) * 8)))
_BAD_CRC[-1] ^= 0x01
INVALID: list[tuple[str, bytes, str]] = [
    ("wrong_crc", p.cobs.encode(bytes(_BAD_CRC)) + b"\x00", "crc_errors"),
    ("random_garbage", bytes([0x13, 0x37, 0xC0, 0xFF, 0xEE, 0x00]), "crc_errors"),
    ("truncated_frame", p.encode(p.Data(2, 4, 0, (1,) * 8))[:9] + b"\x00", "crc_errors"),
    ("too_short", bytes([0x02, 0x01, 0x00]), "crc_errors"),
]


def build() -> dict[str, Any]:
    return {
        "protocol_version": p.PROTOCOL_VERSION,
        "crc16_check": {"input_ascii": "123456789", "crc": p.crc16(b"123456789")},
        "valid": [
            {"name": name, "wire_hex": p.encode(m).hex(), "frame_hex": p.frame_bytes(m).hex(),
             "message": message_to_dict(m)}
            for name, m in MESSAGES
        ],
        "invalid": [
            {"name": name, "wire_hex": (bad + _GOOD).hex(), "counter": counter,
             "then_valid": message_to_dict(p.Data(2, 5, 0, (1, 2, 3, 4, 5, 6, 7, 8)))}
            for name, bad, counter in INVALID
        ],
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("protocol.json")
    out.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {out}")
