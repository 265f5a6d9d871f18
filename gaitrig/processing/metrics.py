"""Per-step and per-trial gait metrics from contact intervals and the feet's loads.

Inputs:

* each foot's ground contacts as :class:`FootContacts` (heel-strike and toe-off times in s, on
  the same clock as the samples; a gait-event detector produces them);
* each foot's total load (n,) in N and centre of pressure (n, 2) in mm in that foot's insole
  frame (origin at the heel centre, +y toward the toes; NaN where undefined), sampled at
  ``sample_rate_hz`` with sample ``j`` at ``start_time_s + j / sample_rate_hz``;
* optionally the two bars' loads (n,) in N; body weight in N; the prosthetic side; the
  therapist's target band for the load under a foot, in % body weight.

A step is one contact of one foot, from its heel strike to its toe off; the samples of a step
are those with ``heel_strike_s <= t <= toe_off_s``. Definitions of every metric, with their
references, are in ``docs/clinical-metrics.md``. A metric that cannot be computed (no following
contact, too few samples, no steps on one side) is NaN, shown as ``null`` by ``to_dict()``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "EDGE_MARGIN_S",
    "LOADING_RATE_FROM",
    "LOADING_RATE_TO",
    "MAX_STEP_TIME_S",
    "ExcludedContact",
    "FootContacts",
    "Gap",
    "SideSummary",
    "StepMetrics",
    "TrialMetrics",
    "gap_rows",
    "json_ready",
    "prosthetic_share_pct",
    "symmetry_index_pct",
    "trial_metrics",
]

FloatArray = npt.NDArray[np.float64]
Side = Literal["left", "right"]

#: The loading rate is the mean slope of the load between these fractions of the step's peak,
#: on the rising edge after heel strike.
LOADING_RATE_FROM = 0.2
LOADING_RATE_TO = 0.8
#: Steps that follow the other foot's heel strike by more than this (s) end a pause, not a
#: walking step: they are left out of the cadence.
MAX_STEP_TIME_S = 3.0
#: A contact that begins or ends this close (s) to a gap in the samples (a pause, lost frames) or
#: to the first or last sample is not a whole step: its heel strike or toe off is where the data
#: stops, not where the foot landed or left.
EDGE_MARGIN_S = 0.05
#: Half a sample's tolerance in time-to-sample conversions, against rounding (fraction of one
#: sample period).
_SAMPLE_EPSILON = 1e-9


def symmetry_index_pct(prosthetic: float, sound: float) -> float:
    """Normalised symmetry index ``(P - S) / (0.5 (P + S)) * 100`` (%): 0 is symmetric,
    positive means more on (or longer for) the prosthetic side. NaN when undefined."""
    denominator = 0.5 * (prosthetic + sound)
    if not (math.isfinite(denominator) and denominator != 0.0):
        return math.nan
    return 100.0 * (prosthetic - sound) / denominator


def prosthetic_share_pct(prosthetic: float, sound: float) -> float:
    """The prosthetic side's share ``P / (P + S) * 100`` (%): 50 is symmetric. NaN when
    undefined."""
    total = prosthetic + sound
    if not (math.isfinite(total) and total != 0.0):
        return math.nan
    return 100.0 * prosthetic / total


@dataclass(frozen=True, eq=False)
class FootContacts:
    """One foot's ground contacts: contact ``i`` lasts from ``heel_strike_s[i]`` to
    ``toe_off_s[i]`` (s). Contacts are complete, in time order and do not overlap."""

    heel_strike_s: FloatArray
    toe_off_s: FloatArray

    def __post_init__(self) -> None:
        strike = np.array(self.heel_strike_s, dtype=np.float64).reshape(-1)
        off = np.array(self.toe_off_s, dtype=np.float64).reshape(-1)
        if strike.shape != off.shape:
            raise ValueError(f"{strike.size} heel strikes but {off.size} toe offs: every contact "
                             "needs both")
        if not (np.isfinite(strike).all() and np.isfinite(off).all()):
            raise ValueError("contact times must be finite numbers (s)")
        if (off <= strike).any():
            raise ValueError("every toe off must come after its heel strike")
        if (strike[1:] < off[:-1]).any():
            raise ValueError("contacts must be in time order and must not overlap")
        strike.flags.writeable = False
        off.flags.writeable = False
        object.__setattr__(self, "heel_strike_s", strike)
        object.__setattr__(self, "toe_off_s", off)

    @classmethod
    def of(cls, heel_strike_s: npt.ArrayLike, toe_off_s: npt.ArrayLike) -> FootContacts:
        """From any sequences of times (s)."""
        return cls(np.asarray(heel_strike_s, dtype=np.float64),
                   np.asarray(toe_off_s, dtype=np.float64))

    @property
    def count(self) -> int:
        return int(self.heel_strike_s.size)


@dataclass(frozen=True)
class Gap:
    """Samples that do not describe the patient: from ``start_s`` to ``end_s`` (s, the last
    sample before and the first after, on the samples' clock) and why (``"pause"``,
    ``"data gap"``)."""

    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class ExcludedContact:
    """A contact left out of the step metrics, and why (``"pause"``, ``"data gap"``,
    ``"trial edge"``)."""

    foot: Side
    prosthetic: bool
    heel_strike_s: float
    toe_off_s: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


@dataclass(frozen=True)
class StepMetrics:
    """One step: one contact of one foot. Times in s, loads in N and % body weight (BW)."""

    index: int  # order of the step's heel strike among all steps of the trial
    foot: Side
    prosthetic: bool
    heel_strike_s: float
    toe_off_s: float
    stance_s: float  # heel strike to toe off
    swing_s: float  # toe off to this foot's next heel strike
    step_time_s: float  # the other foot's last heel strike to this heel strike
    stride_time_s: float  # this heel strike to this foot's next heel strike
    initial_double_support_s: float  # this heel strike to the other foot's toe off
    terminal_double_support_s: float  # the other foot's heel strike to this toe off
    double_support_s: float  # initial + terminal
    peak_load_n: float
    peak_load_pct_bw: float
    loading_rate_n_per_s: float  # 20 % to 80 % of the peak, rising edge after heel strike
    loading_rate_bw_per_s: float
    cop_path_length_mm: float  # length of the CoP's path under the foot during the step
    cop_start_y_mm: float  # CoP along the foot at its first defined sample of the step
    cop_end_y_mm: float  # ... at its last
    cop_progression_mm: float  # end - start: heel-to-toe roll-over
    time_in_band_s: float  # samples within the target band x sample period
    time_in_band_pct: float  # % of the step's samples
    peak_in_band: bool  # the step's peak load lies within the target band
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


@dataclass(frozen=True)
class SideSummary:
    """Means over one foot's steps (NaN values left out)."""

    foot: Side
    prosthetic: bool
    steps: int
    steps_in_band: int  # steps whose peak load lies within the target band
    mean_stance_s: float
    mean_swing_s: float
    mean_step_time_s: float
    mean_stride_time_s: float
    mean_double_support_s: float
    mean_peak_load_n: float
    mean_peak_load_pct_bw: float
    mean_loading_rate_bw_per_s: float
    mean_cop_path_length_mm: float
    mean_cop_progression_mm: float
    time_in_band_s: float  # total over the side's steps

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


@dataclass(frozen=True)
class TrialMetrics:
    """A walking trial's summary and its steps (see ``docs/clinical-metrics.md``)."""

    prosthetic_side: Side
    body_weight_n: float
    target_band_low_pct_bw: float
    target_band_high_pct_bw: float
    step_count: int
    cadence_steps_per_min: float
    stance_time_symmetry_index_pct: float  # (P - S) / (0.5 (P + S)) x 100 of mean stance
    stance_time_prosthetic_share_pct: float  # P / (P + S) x 100: 50 = symmetric
    peak_load_symmetry_index_pct: float
    peak_load_prosthetic_share_pct: float
    bar_reliance_mean_pct_bw: float  # both bars together
    bar_reliance_peak_pct_bw: float
    left_bar_mean_pct_bw: float
    right_bar_mean_pct_bw: float
    prosthetic_steps_in_band: int
    sound_steps_in_band: int
    prosthetic: SideSummary
    sound: SideSummary
    steps: tuple[StepMetrics, ...]
    #: Contacts not counted as steps (they span a pause, a data gap or a trial edge).
    excluded_contacts: tuple[ExcludedContact, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))


def trial_metrics(left_contacts: FootContacts, right_contacts: FootContacts, *,
                  left_foot_n: npt.ArrayLike, right_foot_n: npt.ArrayLike,
                  left_cop_mm: npt.ArrayLike, right_cop_mm: npt.ArrayLike,
                  sample_rate_hz: float, body_weight_n: float, prosthetic_side: Side,
                  target_band_pct_bw: tuple[float, float],
                  left_bar_n: npt.ArrayLike | None = None,
                  right_bar_n: npt.ArrayLike | None = None,
                  start_time_s: float = 0.0, gaps: tuple[Gap, ...] = (),
                  exclude_edges: bool = False) -> TrialMetrics:
    """Every step's metrics and the trial's summary (see the module docstring for the inputs).

    Without bar loads the bar-reliance fields are NaN. A contact within :data:`EDGE_MARGIN_S`
    of one of ``gaps`` (or, with ``exclude_edges``, of the first or last sample) is not a step:
    it is listed in ``excluded_contacts`` with the reason, and no per-trial figure uses it; a
    swing, step or stride time that spans a gap is NaN. Samples inside a gap are left out of
    the bar reliance.
    """
    if prosthetic_side not in ("left", "right"):
        raise ValueError(f"prosthetic_side must be 'left' or 'right', got {prosthetic_side!r}")
    _positive(sample_rate_hz, "sample_rate_hz")
    _positive(body_weight_n, "body_weight_n")
    if not math.isfinite(start_time_s):
        raise ValueError(f"start_time_s must be finite, got {start_time_s!r}")
    low, high = (float(v) for v in target_band_pct_bw)
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(f"target band must be (low, high) % BW with low <= high, "
                         f"got {target_band_pct_bw!r}")
    forces = {"left": _signal(left_foot_n, "left_foot_n"),
              "right": _signal(right_foot_n, "right_foot_n")}
    n = forces["left"].shape[0]
    cops = {"left": _cop(left_cop_mm, "left_cop_mm", n), "right": _cop(right_cop_mm,
                                                                       "right_cop_mm", n)}
    if forces["right"].shape[0] != n:
        raise ValueError("left_foot_n and right_foot_n must have the same number of samples")
    contacts = {"left": left_contacts, "right": right_contacts}
    sound_side: Side = "right" if prosthetic_side == "left" else "left"

    feet: tuple[Side, Side] = ("left", "right")
    order = sorted((float(contacts[foot].heel_strike_s[i]), foot, i)
                   for foot in feet for i in range(contacts[foot].count))
    first_s = start_time_s
    last_s = start_time_s + (n - 1) / sample_rate_hz
    steps: list[StepMetrics] = []
    excluded: list[ExcludedContact] = []
    for strike, foot, i in order:
        off = float(contacts[foot].toe_off_s[i])
        reason = _exclusion(strike, off, gaps, first_s if exclude_edges else -math.inf,
                            last_s if exclude_edges else math.inf)
        if reason is not None:
            excluded.append(ExcludedContact(foot, foot == prosthetic_side, strike, off, reason))
            continue
        index = len(steps)
        other: Side = "right" if foot == "left" else "left"
        timing = _spanning_gaps(_timing(contacts[foot], contacts[other], i), gaps)
        rows = _rows(float(contacts[foot].heel_strike_s[i]), float(contacts[foot].toe_off_s[i]),
                     start_time_s, sample_rate_hz, n)
        loads = _loads(forces[foot][rows], cops[foot][rows], sample_rate_hz, body_weight_n,
                       low, high)
        steps.append(StepMetrics(index=index, foot=foot, prosthetic=foot == prosthetic_side,
                                 **timing, **loads))

    summaries = {foot: _summary(foot, foot == prosthetic_side, steps) for foot in feet}
    prosthetic, sound = summaries[prosthetic_side], summaries[sound_side]
    walking = [s.step_time_s for s in steps
               if math.isfinite(s.step_time_s) and 0.0 < s.step_time_s <= MAX_STEP_TIME_S]
    cadence = 60.0 / float(np.mean(walking)) if walking else math.nan

    bars = _bars(left_bar_n, right_bar_n, n, body_weight_n,
                 gap_rows(gaps, start_time_s, sample_rate_hz, n))
    return TrialMetrics(
        prosthetic_side=prosthetic_side, body_weight_n=float(body_weight_n),
        target_band_low_pct_bw=low, target_band_high_pct_bw=high, step_count=len(steps),
        cadence_steps_per_min=cadence,
        stance_time_symmetry_index_pct=symmetry_index_pct(prosthetic.mean_stance_s,
                                                          sound.mean_stance_s),
        stance_time_prosthetic_share_pct=prosthetic_share_pct(prosthetic.mean_stance_s,
                                                              sound.mean_stance_s),
        peak_load_symmetry_index_pct=symmetry_index_pct(prosthetic.mean_peak_load_n,
                                                        sound.mean_peak_load_n),
        peak_load_prosthetic_share_pct=prosthetic_share_pct(prosthetic.mean_peak_load_n,
                                                            sound.mean_peak_load_n),
        bar_reliance_mean_pct_bw=bars[0], bar_reliance_peak_pct_bw=bars[1],
        left_bar_mean_pct_bw=bars[2], right_bar_mean_pct_bw=bars[3],
        prosthetic_steps_in_band=prosthetic.steps_in_band,
        sound_steps_in_band=sound.steps_in_band,
        prosthetic=prosthetic, sound=sound, steps=tuple(steps),
        excluded_contacts=tuple(excluded))


def _exclusion(strike: float, off: float, gaps: tuple[Gap, ...], first_s: float,
               last_s: float) -> str | None:
    """Why the contact from ``strike`` to ``off`` is not a whole step (None: it is)."""
    for gap in gaps:
        if strike < gap.end_s + EDGE_MARGIN_S and off > gap.start_s - EDGE_MARGIN_S:
            return gap.reason
    if strike <= first_s + EDGE_MARGIN_S or off >= last_s - EDGE_MARGIN_S:
        return "trial edge"
    return None


def _spanning_gaps(timing: dict[str, Any], gaps: tuple[Gap, ...]) -> dict[str, Any]:
    """``timing`` with the swing, step and stride times that span a gap (or start or end at
    one, within :data:`EDGE_MARGIN_S`) made NaN."""
    if not gaps:
        return timing
    strike, off = timing["heel_strike_s"], timing["toe_off_s"]
    spans = {"swing_s": (off, off + timing["swing_s"]),
             "stride_time_s": (strike, strike + timing["stride_time_s"]),
             "step_time_s": (strike - timing["step_time_s"], strike)}
    out = dict(timing)
    for name, (a, b) in spans.items():
        if math.isfinite(a) and math.isfinite(b) and any(
                a < gap.end_s + EDGE_MARGIN_S and b > gap.start_s - EDGE_MARGIN_S
                for gap in gaps):
            out[name] = math.nan
    return out


def gap_rows(gaps: tuple[Gap, ...], start_time_s: float, rate: float, n: int
              ) -> npt.NDArray[np.bool_]:
    """Samples strictly inside a gap (held values, not measured ones)."""
    inside = np.zeros(n, dtype=bool)
    times = start_time_s + np.arange(n) / rate
    for gap in gaps:
        inside |= (times > gap.start_s) & (times < gap.end_s)
    return inside


# -- one step ----------------------------------------------------------------------------------


def _timing(own: FootContacts, other: FootContacts, i: int) -> dict[str, Any]:
    """Stance, swing, step, stride and double-support times (s) of ``own``'s contact ``i``."""
    strike, off = float(own.heel_strike_s[i]), float(own.toe_off_s[i])
    has_next = i + 1 < own.count
    next_strike = float(own.heel_strike_s[i + 1]) if has_next else math.nan
    previous_strike = float(own.heel_strike_s[i - 1]) if i > 0 else -math.inf

    # The other foot's contact under way at this heel strike (it struck at or before it) ...
    before = int(np.searchsorted(other.heel_strike_s, strike, side="right")) - 1
    # ... and the last of its contacts that starts during this stance.
    during = int(np.searchsorted(other.heel_strike_s, off, side="right")) - 1

    step_time = math.nan
    if before >= 0:
        other_strike = float(other.heel_strike_s[before])
        if other_strike > previous_strike:  # the feet alternate
            step_time = strike - other_strike
    initial = math.nan
    if before >= 0:
        initial = max(0.0, min(float(other.toe_off_s[before]), off) - strike)
    terminal = math.nan
    if during > before:
        terminal = max(0.0, min(float(other.toe_off_s[during]), off)
                       - float(other.heel_strike_s[during]))
    elif other.count and float(other.heel_strike_s[-1]) > off:
        terminal = 0.0  # the other foot next lands after this toe off: no terminal overlap
    return {"heel_strike_s": strike, "toe_off_s": off, "stance_s": off - strike,
            "swing_s": next_strike - off, "step_time_s": step_time,
            "stride_time_s": next_strike - strike, "initial_double_support_s": initial,
            "terminal_double_support_s": terminal, "double_support_s": initial + terminal}


def _rows(strike: float, off: float, start_time_s: float, rate: float, n: int) -> slice:
    """The samples with ``strike <= t <= off`` (clipped to the recording)."""
    first = math.ceil((strike - start_time_s) * rate - _SAMPLE_EPSILON)
    last = math.floor((off - start_time_s) * rate + _SAMPLE_EPSILON)
    return slice(max(first, 0), max(min(last + 1, n), 0))


def _loads(force_n: FloatArray, cop_mm: FloatArray, rate: float, body_weight_n: float,
           low: float, high: float) -> dict[str, Any]:
    m = int(force_n.shape[0])
    finite = np.isfinite(force_n)
    peak = float(force_n[finite].max()) if finite.any() else math.nan
    rate_n_per_s = _loading_rate(force_n, peak, rate)
    pct_bw = 100.0 * force_n / body_weight_n
    in_band = int(np.count_nonzero((pct_bw >= low) & (pct_bw <= high)))
    peak_pct = 100.0 * peak / body_weight_n
    valid = cop_mm[np.isfinite(cop_mm).all(axis=1)]
    if valid.shape[0]:
        path = float(np.hypot(*np.diff(valid, axis=0).T).sum())
        start_y, end_y = float(valid[0, 1]), float(valid[-1, 1])
    else:
        path = start_y = end_y = math.nan
    return {"peak_load_n": peak, "peak_load_pct_bw": peak_pct,
            "loading_rate_n_per_s": rate_n_per_s,
            "loading_rate_bw_per_s": rate_n_per_s / body_weight_n,
            "cop_path_length_mm": path, "cop_start_y_mm": start_y, "cop_end_y_mm": end_y,
            "cop_progression_mm": end_y - start_y, "time_in_band_s": in_band / rate,
            "time_in_band_pct": 100.0 * in_band / m if m else math.nan,
            "peak_in_band": bool(low <= peak_pct <= high), "samples": m}


def _loading_rate(force_n: FloatArray, peak: float, rate: float) -> float:
    """Mean slope (N/s) from 20 % to 80 % of ``peak`` on the first rise of ``force_n``.

    Each level's crossing time is interpolated linearly between the samples around it. NaN when
    the peak is not positive or the load is already at 20 % of the peak at the first sample.
    """
    if not (math.isfinite(peak) and peak > 0.0):
        return math.nan
    times = []
    start = 0
    for level in (LOADING_RATE_FROM * peak, LOADING_RATE_TO * peak):
        above = np.flatnonzero(force_n[start:] >= level)
        if not above.size:
            return math.nan
        j = start + int(above[0])
        if j == 0:
            return math.nan
        before, after = float(force_n[j - 1]), float(force_n[j])
        if not math.isfinite(before):
            return math.nan
        times.append((j - 1 + (level - before) / (after - before)) / rate)
        start = j
    return (LOADING_RATE_TO - LOADING_RATE_FROM) * peak / (times[1] - times[0])


# -- trial -------------------------------------------------------------------------------------


def _summary(foot: Side, prosthetic: bool, steps: list[StepMetrics]) -> SideSummary:
    own = [s for s in steps if s.foot == foot]

    def mean(name: str) -> float:
        values = np.array([getattr(s, name) for s in own], dtype=np.float64)
        values = values[np.isfinite(values)]
        return float(values.mean()) if values.size else math.nan

    return SideSummary(
        foot=foot, prosthetic=prosthetic, steps=len(own),
        steps_in_band=sum(1 for s in own if s.peak_in_band),
        mean_stance_s=mean("stance_s"), mean_swing_s=mean("swing_s"),
        mean_step_time_s=mean("step_time_s"), mean_stride_time_s=mean("stride_time_s"),
        mean_double_support_s=mean("double_support_s"), mean_peak_load_n=mean("peak_load_n"),
        mean_peak_load_pct_bw=mean("peak_load_pct_bw"),
        mean_loading_rate_bw_per_s=mean("loading_rate_bw_per_s"),
        mean_cop_path_length_mm=mean("cop_path_length_mm"),
        mean_cop_progression_mm=mean("cop_progression_mm"),
        time_in_band_s=float(sum(s.time_in_band_s for s in own)))


def _bars(left_bar_n: npt.ArrayLike | None, right_bar_n: npt.ArrayLike | None, n: int,
          body_weight_n: float, left_out: npt.NDArray[np.bool_] | None = None
          ) -> tuple[float, float, float, float]:
    """Both bars' mean and peak, left and right bar's mean, in % BW (NaN samples left out)."""
    if left_bar_n is None or right_bar_n is None:
        if left_bar_n is not None or right_bar_n is not None:
            raise ValueError("give both bars' loads or neither")
        return (math.nan,) * 4
    left = _signal(left_bar_n, "left_bar_n")
    right = _signal(right_bar_n, "right_bar_n")
    if left.shape[0] != n or right.shape[0] != n:
        raise ValueError("bar loads must have as many samples as the feet's loads")
    pct = 100.0 / body_weight_n
    if left_out is not None and left_out.any():
        left, right = left[~left_out], right[~left_out]
    both = (left + right) * pct
    if not np.isfinite(both).any():
        return (math.nan,) * 4
    return (float(np.nanmean(both)), float(np.nanmax(both)), float(np.nanmean(left) * pct),
            float(np.nanmean(right) * pct))


# -- helpers -----------------------------------------------------------------------------------


def _positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _signal(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample), got shape {array.shape}")
    return array


def _cop(values: npt.ArrayLike, name: str, n: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (n, 2):
        raise ValueError(f"{name} must be ({n}, 2): x, y per sample, got shape {array.shape}")
    return array


def json_ready(values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``values`` fit for JSON: NaN and infinities become None, tuples lists."""
    return {key: _jsonable(value) for key, value in values.items()}


def _jsonable(value: Any) -> Any:
    """NaN and infinities to None (JSON has neither), recursively."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
