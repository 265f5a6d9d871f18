"""The targets applied to each block of samples live: the band's leg now, and the alarm episodes
(``TargetMonitor``). The vocabulary (targets, alarms, exercises) is in ``gaitrig.rig.model``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gaitrig.rig.model import Alarm, Exercise, Side, Targets


@dataclass(slots=True)
class TargetMonitor:
    """Applies the targets to each block of samples and keeps the alarm episodes.

    ``update`` takes the sample times (s) and loads (% BW) of the prosthetic foot and of both
    bars together, and returns which leg the band is on now. Alarms start on the first sample
    over the limit and end on the first sample back at or under it. A NaN sample means "no
    data" (the board is stale, ``gaitrig.rig.live.timeline.STALE_AFTER_S``): it starts no alarm and
    ends an active one, so an alarm never rests on a held value.

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
