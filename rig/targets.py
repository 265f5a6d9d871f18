"""The therapist's targets and what they mean for each sample: bands, the safety limit, alarms.

Targets are set in kg or in % body weight (the therapist's choice, kept for display) and held
internally in % body weight. The band is for the load on the prosthetic limb; in the weight-shift
exercise it moves from one leg to the other every ``shift_period_s``. Computed once, here on the
server, so every screen shows the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

STANDARD_GRAVITY = 9.80665  # m/s²
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


@dataclass(slots=True)
class TargetMonitor:
    """Applies the targets to each block of samples and keeps the alarm episodes.

    ``update`` takes the sample times (s) and loads (% BW) of the prosthetic foot and of both
    bars together, and returns which leg the band is on now. Alarms start on the first sample
    over the limit and end on the first sample back at or under it. A NaN sample means "no
    data" (the board is stale, ``rig.timeline.STALE_AFTER_S``): it starts no alarm and ends an
    active one, so an alarm never rests on a held value.

    The safety limit's alarm (``over_limit``) is debounced and held (issue 13): it is raised
    only once the load has stayed over the limit for ``debounce_s`` (a brief spike of a heel
    strike raises nothing), and once raised it stays up at least ``hold_s`` (so the patient
    can see it), then ends on the first sample back at or under the limit. Its ``start_s`` is
    still the first sample over the limit (the episode's onset); ``raised_s`` is when it was
    raised. The controller sets both from ``GAITRIG_ALARM_DEBOUNCE_S`` / ``_HOLD_S`` (0.1 s,
    1 s); 0 and 0 (the defaults here) give the raw episodes.
    """

    prosthetic_side: Side
    exercise: Exercise = Exercise.WALKING
    targets: Targets = field(default_factory=Targets)
    started_s: float | None = None
    alarms: list[Alarm] = field(default_factory=list)
    debounce_s: float = 0.0  # over_limit: raised after the load stays over this long (s)
    hold_s: float = 0.0  # over_limit: once raised, up at least this long (s)
    _active: dict[str, Alarm] = field(default_factory=dict)
    _over_since: dict[str, float] = field(default_factory=dict)  # a run over, not yet raised

    def band_side(self, now_s: float) -> Side:
        """The leg the band is on at ``now_s``: the prosthetic one, except in weight shifting."""
        if self.exercise != Exercise.WEIGHT_SHIFT or self.started_s is None:
            return self.prosthetic_side
        sound: Side = "right" if self.prosthetic_side == "left" else "left"
        turn = int((now_s - self.started_s) // self.targets.shift_period_s)
        return self.prosthetic_side if turn % 2 == 0 else sound

    def retarget(self, targets: Targets, exercise: Exercise | None = None) -> None:
        self.targets = targets
        if exercise is not None:
            self.exercise = exercise

    def update(self, time_s: npt.NDArray[np.float64], prosthetic_pct_bw: npt.NDArray[np.float64],
               bars_pct_bw: npt.NDArray[np.float64]) -> list[Alarm]:
        """Check a block; return the alarms that started in it."""
        if self.started_s is None and len(time_s):
            self.started_s = float(time_s[0])
        started: list[Alarm] = []
        checks = (("over_limit", self.targets.limit_pct_bw, prosthetic_pct_bw),
                  ("hand_support", self.targets.max_hand_support_pct_bw, bars_pct_bw))
        for kind, limit, values in checks:
            if limit is None:
                self._over_since.pop(kind, None)
                self._end(kind, float(time_s[0]) if len(time_s) else 0.0)
                continue
            over = values > limit
            if kind not in self._active and not over.any():
                self._over_since.pop(kind, None)
                continue  # the common case: no alarm on, none starting
            debounce, hold = (self.debounce_s, self.hold_s) if kind == "over_limit" else (0, 0)
            for t, value in zip(time_s, values, strict=True):
                alarm = self._active.get(kind)
                if value > limit:
                    onset = self._over_since.setdefault(kind, float(t))
                    if alarm is None and float(t) - onset >= debounce:
                        alarm = Alarm(kind, onset, float(value), limit)  # type: ignore[arg-type]
                        alarm.raised_s = float(t)
                        self._active[kind] = alarm
                        self.alarms.append(alarm)
                        started.append(alarm)
                    if alarm is not None:
                        alarm.peak_pct_bw = max(alarm.peak_pct_bw, float(value))
                else:
                    self._over_since.pop(kind, None)
                    # back at or under the limit (once held long enough), or no data (NaN)
                    if alarm is not None and (not value <= limit
                                              or float(t) - alarm.raised_s >= hold):
                        self._end(kind, float(t))
        return started

    def active(self) -> list[Alarm]:
        return list(self._active.values())

    def _end(self, kind: str, t: float) -> None:
        alarm = self._active.pop(kind, None)
        if alarm is not None:
            alarm.end_s = t


def with_changes(targets: Targets, **changes: Any) -> Targets:
    """A copy of ``targets`` with some fields changed (validated again)."""
    return replace(targets, **changes)
