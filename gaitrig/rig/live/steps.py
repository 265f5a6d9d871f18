"""Live steps: each foot contact as it ends, its peak load, and whether it was on target.

The gait-event detector reports heel strikes and toe offs; a contact ends at toe off. Its peak
load comes from the last few seconds of samples kept here. A step is "on target" when its peak
load lies inside the band (the same rule as ``gaitrig.processing.metrics``); the counter ("12 of 20
steps on target") counts the prosthetic side's steps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gaitrig.processing.compliance import Verdict, band_distance_pct_bw, shown_on_step, verdict
from gaitrig.processing.gait_events import GaitEventDetector

FloatArray = npt.NDArray[np.float64]
Side = Literal["left", "right"]


@dataclass(frozen=True, slots=True)
class LiveStep:
    foot: Side
    heel_strike_s: float  # host monotonic clock (s)
    toe_off_s: float
    peak_pct_bw: float  # highest load on that foot during the contact, % body weight
    on_target: bool
    prosthetic: bool
    #: The judgement of a prosthetic step (issue 13, :mod:`gaitrig.processing.compliance`); None on
    #: the sound side. ``index``: 1-based among the trial's prosthetic steps.
    index: int | None = None
    verdict: Verdict | None = None
    band_distance_pct_bw: float = float("nan")
    over_limit_s: float = 0.0  # how long the load was over the safety limit in this stance
    feedback_shown: bool = True  # the display gave this step's verdict (feedback fading)

    @property
    def stance_s(self) -> float:
        return self.toe_off_s - self.heel_strike_s

    def to_dict(self) -> dict[str, Any]:
        return {"foot": self.foot, "prosthetic": self.prosthetic,
                "heel_strike_s": round(self.heel_strike_s, 4),
                "stance_s": round(self.stance_s, 4),
                "peak_pct_bw": None if np.isnan(self.peak_pct_bw) else round(self.peak_pct_bw, 1),
                "on_target": self.on_target}

    def judged(self) -> dict[str, Any]:
        """The live message's ``steps.judged``: this prosthetic step's verdict."""
        distance = self.band_distance_pct_bw
        return {"index": self.index, "toe_off_s": round(self.toe_off_s, 4),
                "peak_pct_bw": None if np.isnan(self.peak_pct_bw) else round(self.peak_pct_bw, 1),
                "over_limit_s": round(self.over_limit_s, 3), "verdict": self.verdict,
                "band_distance_pct_bw": None if np.isnan(distance) else round(distance, 1),
                "feedback_shown": self.feedback_shown}


@dataclass(slots=True)
class StepCounter:
    """Pairs heel strikes with toe offs per foot and counts the prosthetic steps on target."""

    prosthetic_side: Side
    history_s: float = 6.0
    total: int = 0  # prosthetic-side steps
    on_target: int = 0
    streak: int = 0  # consecutive prosthetic steps on target, now
    best_streak: int = 0
    limit_pct_bw: float | None = None  # the safety limit (for each step's time over it)
    feedback_mode: str = "full"  # feedback fading (gaitrig.rig.live.live_message.Feedback.mode)
    fade_every_n: int = 2
    steps: list[LiveStep] = field(default_factory=list)
    #: Contacts not counted as steps: they span a pause (see :meth:`interrupt`).
    excluded: int = 0
    _heel_strike_s: dict[str, float] = field(default_factory=dict)
    _spanning: set[str] = field(default_factory=set)
    _interrupted_s: float = float("-inf")
    _blocks: deque[tuple[FloatArray, FloatArray, FloatArray]] = field(default_factory=deque)

    def add_samples(self, time_s: FloatArray, left_pct_bw: FloatArray,
                    right_pct_bw: FloatArray) -> None:
        """Keep the last ``history_s`` seconds of per-foot load (% BW) for the peaks."""
        if not len(time_s):
            return
        self._blocks.append((time_s, left_pct_bw, right_pct_bw))
        while self._blocks and self._blocks[0][0][-1] < time_s[-1] - self.history_s:
            self._blocks.popleft()

    def event(self, foot: Side, kind: str, time_s: float,
              band_pct_bw: tuple[float, float]) -> LiveStep | None:
        """A gait event; returns the step it completes (at toe off), if any."""
        if kind == "heel_strike":
            if time_s <= self._interrupted_s:  # landed before a pause, or is the resume
                self._spanning.add(foot)
                self._heel_strike_s.pop(foot, None)
            else:
                self._spanning.discard(foot)
                self._heel_strike_s[foot] = time_s
            return None
        if kind == "toe_off" and foot in self._spanning:
            self._spanning.discard(foot)
            self.excluded += 1
            return None
        if kind != "toe_off" or foot not in self._heel_strike_s:
            return None
        heel_strike_s = self._heel_strike_s.pop(foot)
        peak, over_s = self._peak(foot, heel_strike_s, time_s)
        low, high = band_pct_bw
        prosthetic = foot == self.prosthetic_side
        if prosthetic:
            index = self.total + 1
            step = LiveStep(foot, heel_strike_s, time_s, peak, bool(low <= peak <= high), True,
                            index, verdict(peak, band_pct_bw),
                            band_distance_pct_bw(peak, band_pct_bw), over_s,
                            shown_on_step(self.feedback_mode, self.fade_every_n, index))
        else:
            step = LiveStep(foot, heel_strike_s, time_s, peak, bool(low <= peak <= high), False)
        self.steps.append(step)
        if step.prosthetic:
            self.total += 1
            if step.on_target:
                self.on_target += 1
                self.streak += 1
                self.best_streak = max(self.best_streak, self.streak)
            else:
                self.streak = 0
        return step

    def interrupt(self, until_s: float) -> None:
        """The samples stop (a pause) or start again: a contact under way, or one whose heel
        strike is at or before ``until_s`` (host s), is not a step (counted in ``excluded``
        at its toe off)."""
        self._spanning.update(self._heel_strike_s)
        self._heel_strike_s.clear()
        self._interrupted_s = max(self._interrupted_s, until_s)

    def last(self, count: int = 8) -> list[LiveStep]:
        return self.steps[-count:]

    def last_judged(self) -> LiveStep | None:
        """The newest prosthetic step (the verdict the patient sees now), if any."""
        return next((s for s in reversed(self.steps) if s.prosthetic), None)

    def _peak(self, foot: Side, start_s: float, end_s: float) -> tuple[float, float]:
        """The contact's peak load (% BW) and its time over the safety limit (s)."""
        column = 1 if foot == "left" else 2
        times, loads = [], []
        for block in self._blocks:
            if block[0][0] <= end_s and block[0][-1] >= start_s:
                inside = (block[0] >= start_s) & (block[0] <= end_s)
                times.append(block[0][inside])
                loads.append(block[column][inside])
        t = np.concatenate(times) if times else np.empty(0)
        load = np.concatenate(loads) if loads else np.empty(0)
        finite = np.isfinite(load)
        if not finite.any():
            return float("nan"), 0.0
        peak = float(np.max(load[finite]))
        over_s = 0.0
        if self.limit_pct_bw is not None and t.size > 1:
            dt = float(np.median(np.diff(t)))
            over_s = float(np.count_nonzero(load[finite] > self.limit_pct_bw)) * dt
        return peak, over_s


#: Loads reach the detector in % body weight, so body weight is 100 in its units.
_BODY_WEIGHT_PCT = 100.0
#: How long the sample times of past blocks are kept to time confirmed events (s): more than the
#: detector's longest confirmation delay (minimum stance + timing window).
_TIMES_KEPT_S = 2.0


@dataclass(slots=True)
class LiveGaitEvents:
    """Both feet's gait-event detectors on the live per-foot loads (% BW), block by block.

    The sample rate comes from the first block's own sample times; each event's fractional
    sample index is put back on the host clock from the sample times it fell between.
    """

    detectors: dict[str, GaitEventDetector] = field(default_factory=dict)
    _pending: list[tuple[FloatArray, FloatArray, FloatArray]] = field(default_factory=list)
    _times: deque[tuple[int, FloatArray]] = field(default_factory=deque)
    _samples: int = 0

    def add_samples(self, time_s: FloatArray, left_pct_bw: FloatArray,
                    right_pct_bw: FloatArray) -> list[tuple[Side, str, float]]:
        """Feed one block; the events it confirms as (foot, kind, host time s), in time order."""
        if not len(time_s):
            return []
        if not self.detectors:
            self._pending.append((time_s, left_pct_bw, right_pct_bw))
            times = np.concatenate([block[0] for block in self._pending])
            steps = np.diff(times)
            steps = steps[steps > 0]
            if steps.size < 2:
                return []
            rate = 1.0 / float(np.median(steps))
            self.detectors = {foot: GaitEventDetector(rate, _BODY_WEIGHT_PCT)
                              for foot in ("left", "right")}
            blocks, self._pending = self._pending, []
            found: list[tuple[Side, str, float]] = []
            for block in blocks:
                found += self._feed(*block)
            return found
        return self._feed(time_s, left_pct_bw, right_pct_bw)

    def _feed(self, time_s: FloatArray, left_pct_bw: FloatArray, right_pct_bw: FloatArray
              ) -> list[tuple[Side, str, float]]:
        self._times.append((self._samples, np.asarray(time_s, dtype=np.float64)))
        self._samples += len(time_s)
        while len(self._times) > 2 and self._times[1][1][-1] < time_s[-1] - _TIMES_KEPT_S:
            self._times.popleft()
        found: list[tuple[Side, str, float]] = []
        for foot, load in (("left", left_pct_bw), ("right", right_pct_bw)):
            detector = self.detectors[foot]
            for event in detector.feed(load):
                index = event.time_s * detector.sample_rate_hz  # start_time_s is 0
                found.append((foot, event.kind, self._time_of(index)))  # type: ignore[arg-type]
        found.sort(key=lambda item: item[2])
        return found

    def _time_of(self, index: float) -> float:
        """Host time (s) of a fractional sample index, from the kept sample times."""
        first = self._times[0][0]
        times = np.concatenate([block[1] for block in self._times])
        position = min(max(index - first, 0.0), float(times.size - 1))
        return float(np.interp(position, np.arange(times.size), times))
