"""The therapist's targets and what they mean for each sample: bands, the safety limit, alarms.

Targets are set in kg or in % body weight (the therapist's choice, kept for display) and held
internally in % body weight. The band is for the load on the prosthetic limb; in the weight-shift
exercise it moves from one leg to the other every ``shift_period_s``. Computed once, here on the
server, so every screen shows the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from gaitrig.processing.units import STANDARD_GRAVITY

Side = Literal["left", "right"]


class Exercise(StrEnum):
    QUIET_STANDING = "quiet_standing"
    WEIGHT_SHIFT = "weight_shift"
    WALKING = "walking"
    PARTIAL_WEIGHT_BEARING = "partial_weight_bearing"
    SIT_TO_STAND = "sit_to_stand"


@dataclass(frozen=True, slots=True)
class Targets:
    """What the therapist asked for, in % body weight (``unit`` is how they entered it)."""

    band_low_pct_bw: float = 40.0
    band_high_pct_bw: float = 60.0
    limit_pct_bw: float | None = None  # the prosthetic limb's load must stay at or below this
    max_hand_support_pct_bw: float | None = None  # both bars together
    unit: Literal["pct_bw", "kg"] = "pct_bw"
    shift_period_s: float = 5.0  # weight shift: the band changes leg this often

    def __post_init__(self) -> None:
        if not 0 <= self.band_low_pct_bw <= self.band_high_pct_bw <= 200:
            raise ValueError("the band needs 0 <= low <= high <= 200 % body weight, got "
                             f"{self.band_low_pct_bw}-{self.band_high_pct_bw}")
        if self.limit_pct_bw is not None and self.limit_pct_bw < self.band_high_pct_bw:
            raise ValueError(f"the safety limit ({self.limit_pct_bw} % BW) is below the top of "
                             f"the band ({self.band_high_pct_bw} % BW)")
        if self.max_hand_support_pct_bw is not None and not self.max_hand_support_pct_bw > 0:
            raise ValueError("the maximum hand support must be above 0 % body weight")
        if not self.shift_period_s > 0:
            raise ValueError("the weight-shift period must be positive (s)")

    @classmethod
    def from_kg(cls, body_mass_kg: float, band_low_kg: float, band_high_kg: float,
                limit_kg: float | None = None, max_hand_support_kg: float | None = None,
                shift_period_s: float = 5.0) -> Targets:
        """Targets entered in kg of load (kg-force), as many therapists think of them."""
        def pct(kg: float | None) -> float | None:
            return None if kg is None else 100.0 * kg / body_mass_kg
        return cls(100.0 * band_low_kg / body_mass_kg, 100.0 * band_high_kg / body_mass_kg,
                   pct(limit_kg), pct(max_hand_support_kg), "kg", shift_period_s)

    def to_dict(self, body_mass_kg: float) -> dict[str, Any]:
        """For the API and the live message: every value in % BW and in kg."""
        out = asdict(self)
        for name in ("band_low", "band_high", "limit", "max_hand_support"):
            value = out[f"{name}_pct_bw"]
            out[f"{name}_kg"] = None if value is None else round(value * body_mass_kg / 100, 2)
        return out


@dataclass(slots=True)
class Alarm:
    """One episode of a limit being exceeded: from ``start_s`` to ``end_s`` (None while on)."""

    kind: Literal["over_limit", "hand_support"]
    start_s: float
    peak_pct_bw: float
    limit_pct_bw: float
    end_s: float | None = None
    raised_s: float = float("nan")  # when it was raised (start_s + the debounce, or later)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_s": round(self.start_s, 4),
                "end_s": None if self.end_s is None else round(self.end_s, 4),
                "peak_pct_bw": round(self.peak_pct_bw, 2), "limit_pct_bw": self.limit_pct_bw}




def with_changes(targets: Targets, **changes: Any) -> Targets:
    """A copy of ``targets`` with some fields changed (validated again)."""
    return replace(targets, **changes)


@dataclass(frozen=True, slots=True)
class PatientOnRig:
    display_name: str
    body_mass_kg: float
    prosthetic_side: Side
    patient_id: int | None = None
    amputation_level: str | None = None  # one of gaitrig.db.models.AMPUTATION_LEVELS

    @property
    def body_weight_n(self) -> float:
        return self.body_mass_kg * STANDARD_GRAVITY
