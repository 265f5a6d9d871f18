"""A trial on the rig while it runs: start, pause, resume, stop; marks, steps, alarms, summary.

Times are on the host's monotonic clock (s); ``elapsed_s`` leaves out the paused spans. Samples
and gait events count only while the trial runs; the safety alarms are watched all the time by
the controller (a patient is never unprotected between trials) and the trial keeps those that
happen while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from gaitrig.processing.compliance import compliance_by_feedback
from gaitrig.processing.metrics import EDGE_MARGIN_S, prosthetic_share_pct, symmetry_index_pct
from gaitrig.rig.live.steps import LiveGaitEvents, StepCounter
from gaitrig.rig.model import Alarm, Exercise, Side, Targets

FloatArray = npt.NDArray[np.float64]


class TrialState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class TrialStateError(RuntimeError):
    """A control that does not fit the trial's state (e.g. pause a stopped trial)."""


@dataclass(frozen=True, slots=True)
class Mark:
    """An event the therapist marked, with a short note."""

    time_s: float
    elapsed_s: float
    note: str


@dataclass(slots=True)
class LiveTrial:
    trial_id: int
    exercise: Exercise
    targets: Targets
    prosthetic_side: Side
    started_s: float
    state: TrialState = TrialState.RUNNING
    ended_s: float | None = None
    marks: list[Mark] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)
    steps: StepCounter = field(init=False)
    gait_events: LiveGaitEvents = field(default_factory=LiveGaitEvents)
    #: (from, to) of each pause, host monotonic s: stored with the trial for its analysis.
    pauses: list[tuple[float, float]] = field(default_factory=list)
    _paused_since_s: float | None = None
    _paused_total_s: float = 0.0
    _bars_sum_pct_bw: float = 0.0
    _bars_peak_pct_bw: float = 0.0
    _samples: int = 0

    def __post_init__(self) -> None:
        self.steps = StepCounter(self.prosthetic_side)

    # -- controls ----------------------------------------------------------------------------

    def pause(self, now_s: float) -> None:
        self._require(TrialState.RUNNING, "pause")
        self.state, self._paused_since_s = TrialState.PAUSED, now_s
        self.steps.interrupt(now_s)  # a contact under way is not a step

    def resume(self, now_s: float) -> None:
        self._require(TrialState.PAUSED, "resume")
        assert self._paused_since_s is not None
        self._paused_total_s += now_s - self._paused_since_s
        self.pauses.append((self._paused_since_s, now_s))
        self.steps.interrupt(now_s + EDGE_MARGIN_S)  # nor is a contact found at the resume
        self.state, self._paused_since_s = TrialState.RUNNING, None

    def stop(self, now_s: float) -> dict[str, Any]:
        if self.state == TrialState.STOPPED:
            raise TrialStateError("the trial is already stopped")
        if self.state == TrialState.PAUSED:
            self.resume(now_s)
        self.state, self.ended_s = TrialState.STOPPED, now_s
        return self.summary(now_s)

    def mark(self, now_s: float, note: str) -> Mark:
        if self.state == TrialState.STOPPED:
            raise TrialStateError("the trial is stopped: marks go on a running trial")
        mark = Mark(now_s, self.elapsed_s(now_s), note.strip()[:200])
        self.marks.append(mark)
        return mark

    def _require(self, state: TrialState, action: str) -> None:
        if self.state != state:
            raise TrialStateError(f"cannot {action} a {self.state.value} trial")

    # -- data ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state == TrialState.RUNNING

    def elapsed_s(self, now_s: float) -> float:
        end = self.ended_s if self.ended_s is not None else now_s
        paused = self._paused_total_s
        if self._paused_since_s is not None:
            paused += end - self._paused_since_s
        return max(0.0, end - self.started_s - paused)

    def add_samples(self, time_s: FloatArray, left_pct_bw: FloatArray, right_pct_bw: FloatArray,
                    bars_pct_bw: FloatArray) -> None:
        if not self.running or not len(time_s):
            return
        self.steps.add_samples(time_s, left_pct_bw, right_pct_bw)
        self.steps.limit_pct_bw = self.targets.limit_pct_bw
        band = (self.targets.band_low_pct_bw, self.targets.band_high_pct_bw)
        for foot, kind, event_s in self.gait_events.add_samples(time_s, left_pct_bw,
                                                                right_pct_bw):
            self.steps.event(foot, kind, event_s, band)
        finite = bars_pct_bw[np.isfinite(bars_pct_bw)]
        if len(finite):
            self._bars_sum_pct_bw += float(finite.sum())
            self._bars_peak_pct_bw = max(self._bars_peak_pct_bw, float(finite.max()))
            self._samples += len(finite)

    def set_feedback(self, mode: str, fade_every_n: int) -> None:
        """Feedback fading from now on: which of the next steps' verdicts the display gives."""
        self.steps.feedback_mode, self.steps.fade_every_n = mode, fade_every_n

    def add_alarms(self, alarms: list[Alarm]) -> None:
        if self.running:
            self.alarms.extend(alarms)

    # -- results -------------------------------------------------------------------------------

    def summary(self, now_s: float) -> dict[str, Any]:
        """What the therapist sees at stop (and what is saved with the trial)."""
        steps = self.steps.steps
        stance = {side: [s.stance_s for s in steps if s.prosthetic == (side == "prosthetic")]
                  for side in ("prosthetic", "sound")}
        peak = {side: [s.peak_pct_bw for s in steps if s.prosthetic == (side == "prosthetic")]
                for side in ("prosthetic", "sound")}

        def mean(values: list[float]) -> float:
            finite = [v for v in values if np.isfinite(v)]
            return float(np.mean(finite)) if finite else float("nan")

        def rounded(value: float, digits: int = 1) -> float | None:
            return round(value, digits) if np.isfinite(value) else None

        judged = [s for s in steps if s.prosthetic]
        band = (self.targets.band_low_pct_bw, self.targets.band_high_pct_bw)
        p_stance, s_stance = mean(stance["prosthetic"]), mean(stance["sound"])
        p_peak, s_peak = mean(peak["prosthetic"]), mean(peak["sound"])
        return {
            "trial_id": self.trial_id,
            "exercise": self.exercise.value,
            "duration_s": round(self.elapsed_s(now_s), 2),
            "steps": self.steps.total,
            "steps_on_target": self.steps.on_target,
            "sound_side_steps": len(stance["sound"]),
            "mean_stance_s": {"prosthetic": rounded(p_stance, 3), "sound": rounded(s_stance, 3)},
            "stance_symmetry_index_pct": rounded(symmetry_index_pct(p_stance, s_stance)),
            "stance_prosthetic_share_pct": rounded(prosthetic_share_pct(p_stance, s_stance)),
            "peak_load_symmetry_index_pct": rounded(symmetry_index_pct(p_peak, s_peak)),
            "peak_load_prosthetic_share_pct": rounded(prosthetic_share_pct(p_peak, s_peak)),
            "bar_reliance_mean_pct_bw": rounded(
                self._bars_sum_pct_bw / self._samples if self._samples else float("nan")),
            "bar_reliance_peak_pct_bw": rounded(self._bars_peak_pct_bw),
            "compliance": compliance_by_feedback(
                [s.peak_pct_bw for s in judged], [s.feedback_shown for s in judged], band,
                self.targets.limit_pct_bw),
            "feedback": {"mode": self.steps.feedback_mode,
                         "fade_every_n": self.steps.fade_every_n},
            "alarms": [a.to_dict() for a in self.alarms],
            "marks": [{"elapsed_s": round(m.elapsed_s, 2), "note": m.note} for m in self.marks],
            "excluded_steps": self.steps.excluded,
            "pauses_s": [[a, b] for a, b in self.pauses],
        }
