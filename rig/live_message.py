"""The live message the server sends to every browser (version 1, see docs/live-protocol.md).

Field names carry their units: ``_n`` newtons, ``_pct_bw`` % of body weight, ``_share_pct`` % of
the total measured load, ``_mm`` millimetres (insole frame for CoP, along the bar for hands),
``_s`` seconds on the host's monotonic clock, ``_us`` microseconds on a board's clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LIVE_MESSAGE_VERSION = 1
STANDARD_GRAVITY = 9.80665  # m/s²
LOAD_NAMES = ("left_foot", "right_foot", "left_bar", "right_bar")


@dataclass(frozen=True, slots=True)
class PatientOnRig:
    display_name: str
    body_mass_kg: float
    prosthetic_side: str  # "left" or "right"

    @property
    def body_weight_n(self) -> float:
        return self.body_mass_kg * STANDARD_GRAVITY


@dataclass(frozen=True, slots=True)
class TargetBand:
    """Where the therapist wants the foot load, in % body weight."""

    low_pct_bw: float
    high_pct_bw: float

    def contains(self, value_pct_bw: float) -> bool:
        return self.low_pct_bw <= value_pct_bw <= self.high_pct_bw


def number(value: float, digits: int = 2) -> float | None:
    """A JSON-safe number: rounded, and None (null) instead of NaN or infinity."""
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def point(x: float, y: float) -> list[float] | None:
    px, py = number(x, 1), number(y, 1)
    return None if px is None or py is None else [px, py]


@dataclass(frozen=True, slots=True)
class LoadSnapshot:
    """The newest processed sample (forces in N, positions in mm, NaN where undefined)."""

    sample_time_s: float
    force_n: tuple[float, float, float, float]  # left foot, right foot, left bar, right bar
    pct_bw: tuple[float, float, float, float]  # the same four, % body weight
    share_pct: tuple[float, float, float, float]  # the same four, % of the total measured load
    left_cop_mm: tuple[float, float]
    right_cop_mm: tuple[float, float]
    left_hand_position_mm: float
    right_hand_position_mm: float


def live_message(
    seq: int,
    server_time_s: float,
    rig_id: str,
    patient: PatientOnRig,
    band: TargetBand,
    load: LoadSnapshot | None,
    devices: list[dict[str, Any]],
    frame_seq: dict[str, int],
    device_time_us: dict[str, int],
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "live",
        "version": LIVE_MESSAGE_VERSION,
        "seq": seq,
        "server_time_s": round(server_time_s, 6),
        "sample_time_s": None if load is None else round(load.sample_time_s, 6),
        "rig_id": rig_id,
        "patient": {"display_name": patient.display_name, "body_mass_kg": patient.body_mass_kg,
                    "prosthetic_side": patient.prosthetic_side},
        "body_weight_n": number(patient.body_weight_n),
        "target_band_pct_bw": [band.low_pct_bw, band.high_pct_bw],
        "devices": devices,
        "frame_seq": frame_seq,
        "device_time_us": device_time_us,
    }
    if load is None:
        return message
    for i, name in enumerate(LOAD_NAMES):
        message[f"{name}_n"] = number(load.force_n[i])
        message[f"{name}_pct_bw"] = number(load.pct_bw[i])
        message[f"{name}_share_pct"] = number(load.share_pct[i])
    message["total_n"] = number(sum(load.force_n))
    message["bars_pct_bw"] = number(load.pct_bw[2] + load.pct_bw[3])
    message["left_cop_mm"] = point(*load.left_cop_mm)
    message["right_cop_mm"] = point(*load.right_cop_mm)
    message["left_hand_position_mm"] = number(load.left_hand_position_mm, 1)
    message["right_hand_position_mm"] = number(load.right_hand_position_mm, 1)
    message["left_in_band"] = band.contains(load.pct_bw[0])
    message["right_in_band"] = band.contains(load.pct_bw[1])
    return message
