"""Calibration procedures: readings in, a new calibration or a refusal a therapist can read, out.

Every procedure takes the rig's current :class:`~gaitrig.processing.calibration.RigCalibration` and
raw readings taken while the rig was held still, and returns a :class:`CalibrationResult`:
``accepted`` with the new calibration, or refused with ``reason`` in plain words and the current
calibration unchanged (so a caller that forgets to look at ``accepted`` keeps a good calibration).
A wrong array shape is a programming error and raises ``ValueError``; everything a person at the
rig can cause (a hand on the bars, a foot not lifted, a loose insole) is a refusal.

* :func:`tare_bars` — the posts' zero (offset) from readings with nothing on the bars.
* :func:`post_gain_from_weight` — one post's gain (N per count) from a known weight on it.
* :func:`bar_gain_from_weight` — both posts of one bar scaled together from a known weight on it.
* :func:`insole_body_weight_calibration` — each insole scaled so that standing load matches body
  weight minus what the bars carry (the patient stands on both feet, then on the left only, then
  on the right only).
* :func:`check_standing_phase` — one of those standing phases checked as soon as it is captured
  (still, hands light, the lifted foot off the floor), so only that phase is repeated.

:class:`CalibrationRecord` is what the rig stores per board and device serial number: versioned
plain data (``to_dict`` / ``from_dict``) holding the channel dicts of
:mod:`gaitrig.processing.calibration`, the method and its inputs. Nothing here reads a clock:
``created_at`` is passed in by the caller.

Units: forces in newtons (N), masses in kg, raw readings in counts, shares in % body weight.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gaitrig.processing import kernels
from gaitrig.processing.calibration import (
    BAR_CHANNELS,
    FsrCalibration,
    LinearCalibration,
    RigCalibration,
)
from gaitrig.processing.units import STANDARD_GRAVITY

__all__ = [
    "BOARDS",
    "PHASE_KEYS",
    "POST_NAMES",
    "RECORD_FORMAT",
    "STANDARD_GRAVITY",
    "BodyWeightLimits",
    "CalibrationRecord",
    "CalibrationResult",
    "PhaseCheck",
    "StandingPhase",
    "SteadinessLimits",
    "bar_gain_from_weight",
    "check_standing_phase",
    "insole_body_weight_calibration",
    "post_gain_from_weight",
    "tare_bars",
]

FloatArray = npt.NDArray[np.float64]
Board = Literal["insole_left", "insole_right", "bars"]

#: Standard gravity (m/s²): a mass in kg weighs mass x this, in N.
#: The boards of the rig, as named in :class:`RigCalibration` and in calibration records.
BOARDS: tuple[Board, ...] = ("insole_left", "insole_right", "bars")
#: Names of the bar posts in channel order, as a therapist would say them.
POST_NAMES = ("left front", "left rear", "right front", "right rear")
#: Format of :meth:`CalibrationRecord.to_dict`; bump when the layout of the dict changes.
RECORD_FORMAT = 1

TARE = "tare"
POST_GAIN = "known_weight_on_post"
BAR_GAIN = "known_weight_on_bar"
BODY_WEIGHT = "insole_body_weight"
METHODS = (TARE, POST_GAIN, BAR_GAIN, BODY_WEIGHT)


# -- limits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteadinessLimits:
    """How still the bars must be for a tare or a gain measurement to count.

    A load cell's own noise is a few hundredths of a newton; a hand resting on a bar, or a bar
    still swinging, moves it by newtons. Both limits are in newtons, per post.
    """

    max_peak_to_peak_n: float = 5.0  # largest minus smallest reading, N (about 0.5 kg)
    max_sd_n: float = 1.0  # standard deviation of the readings, N
    min_samples: int = 40  # half a second of the bars board at 80 Hz

    def __post_init__(self) -> None:
        _positive(self.max_peak_to_peak_n, "max_peak_to_peak_n")
        _positive(self.max_sd_n, "max_sd_n")
        if self.min_samples < 2:
            raise ValueError(f"min_samples must be at least 2, got {self.min_samples}")

    def to_dict(self) -> dict[str, Any]:
        return {"max_peak_to_peak_n": self.max_peak_to_peak_n, "max_sd_n": self.max_sd_n,
                "min_samples": self.min_samples}


@dataclass(frozen=True)
class BodyWeightLimits:
    """What the insole body-weight calibration accepts (percentages are of body weight)."""

    max_sd_pct_bw: float = 5.0  # each of left foot, right foot, bars, in each phase
    max_bars_pct_bw: float = 20.0  # mean load on both bars together, in each phase
    #: In a one-foot phase the lifted foot may read at most this fraction of what it read while
    #: standing on both feet.
    max_lifted_foot_fraction: float = 0.2
    min_factor: float = 0.5
    max_factor: float = 2.0
    #: After scaling, each phase's feet plus bars must match body weight within this.
    max_mismatch_pct_bw: float = 10.0
    min_samples: int = 100  # per phase: 0.1 s of the insoles at 1 kHz

    def __post_init__(self) -> None:
        for name in ("max_sd_pct_bw", "max_bars_pct_bw", "max_lifted_foot_fraction",
                     "min_factor", "max_factor", "max_mismatch_pct_bw"):
            _positive(getattr(self, name), name)
        if not self.min_factor < 1.0 < self.max_factor:
            raise ValueError("need min_factor < 1 < max_factor, got "
                             f"{self.min_factor}, {self.max_factor}")
        if self.min_samples < 2:
            raise ValueError(f"min_samples must be at least 2, got {self.min_samples}")

    def to_dict(self) -> dict[str, Any]:
        return {"max_sd_pct_bw": self.max_sd_pct_bw, "max_bars_pct_bw": self.max_bars_pct_bw,
                "max_lifted_foot_fraction": self.max_lifted_foot_fraction,
                "min_factor": self.min_factor, "max_factor": self.max_factor,
                "max_mismatch_pct_bw": self.max_mismatch_pct_bw,
                "min_samples": self.min_samples}


# -- results and records ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """The outcome of a procedure.

    ``calibration`` is the new calibration when ``accepted``, else the one passed in, unchanged.
    ``reason`` says in plain words what was done or why it was refused and what to do next.
    ``inputs`` holds what was measured (JSON-ready), for the record. ``changed_boards`` names the
    boards whose calibration changed (none when refused).
    """

    accepted: bool
    reason: str
    calibration: RigCalibration
    method: str
    inputs: dict[str, Any] = field(default_factory=dict)
    changed_boards: tuple[Board, ...] = ()
    #: A refused insole calibration that one standing phase caused: that phase's key
    #: (:data:`PHASE_KEYS`), to repeat alone; None when the whole calibration must be repeated
    #: (or it was accepted, or it is not an insole calibration).
    repeat_phase: str | None = None

    def record(self, board: Board, device_serial: str, version: int,
               created_at: str) -> CalibrationRecord:
        """A record of the new calibration of ``board`` (one that this procedure changed)."""
        if not self.accepted:
            raise ValueError(f"a refused calibration is not recorded: {self.reason}")
        if board not in self.changed_boards:
            raise ValueError(f"this {self.method} calibration did not change board {board!r}; "
                             f"it changed {list(self.changed_boards)}")
        return CalibrationRecord(
            version=version, device_serial=device_serial, board=board, created_at=created_at,
            channels=self.calibration.to_dicts()[board], method=self.method,
            inputs=dict(self.inputs))


@dataclass(frozen=True, eq=False)
class CalibrationRecord:
    """One board's calibration as stored per device serial number.

    ``version`` numbers the calibrations of one device (1, 2, 3, ...; the caller counts);
    ``created_at`` is an ISO 8601 date-time with its UTC offset, given by the caller;
    ``channels`` are the channel dicts of :mod:`gaitrig.processing.calibration`; ``method`` is how
    the calibration was made ("tare", "known_weight_on_post", "known_weight_on_bar",
    "insole_body_weight", or "nominal" for a datasheet calibration) and ``inputs`` what it was
    made from (JSON-ready).
    """

    version: int
    device_serial: str
    board: Board
    created_at: str
    channels: Sequence[Mapping[str, Any]]
    method: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (isinstance(self.version, bool) or not isinstance(self.version, numbers.Integral)
                or self.version < 1):
            raise ValueError(f"record version must be an integer >= 1, got {self.version!r}")
        if not isinstance(self.device_serial, str) or not self.device_serial.strip():
            raise ValueError("device_serial must be a non-empty string")
        if self.board not in BOARDS:
            raise ValueError(f"board must be one of {list(BOARDS)}, got {self.board!r}")
        if not isinstance(self.created_at, str):
            raise ValueError(f"created_at must be an ISO 8601 string, got {self.created_at!r}")
        try:
            moment = datetime.fromisoformat(self.created_at)
        except ValueError:
            raise ValueError(f"created_at must be an ISO 8601 date-time, "
                             f"got {self.created_at!r}") from None
        if moment.utcoffset() is None:
            raise ValueError(f"created_at must carry its UTC offset (e.g. '+00:00'), "
                             f"got {self.created_at!r}")
        if not isinstance(self.method, str) or not self.method:
            raise ValueError("method must be a non-empty string")
        if not isinstance(self.inputs, Mapping):
            raise ValueError("inputs must be a dict")
        self.calibration()  # checks the channel dicts
        object.__setattr__(self, "version", int(self.version))
        object.__setattr__(self, "channels", [dict(c) for c in self.channels])
        object.__setattr__(self, "inputs", dict(self.inputs))

    def calibration(self) -> LinearCalibration | FsrCalibration:
        """The board's calibration object (load cells for "bars", FSRs for an insole)."""
        if self.board == "bars":
            bars = LinearCalibration.from_dicts(self.channels, board="bars")
            if bars.channels != BAR_CHANNELS:
                raise ValueError(f"bars: calibration needs {BAR_CHANNELS} channels, "
                                 f"got {bars.channels}")
            return bars
        return FsrCalibration.from_dicts(self.channels, board=self.board)

    def to_dict(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, "version": self.version,
                "device_serial": self.device_serial, "board": self.board,
                "created_at": self.created_at, "method": self.method,
                "inputs": dict(self.inputs), "channels": [dict(c) for c in self.channels]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationRecord:
        """Read a stored record, checking its format and every field."""
        if not isinstance(data, Mapping):
            raise ValueError("a calibration record must be a dict")
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"unknown calibration record format {data.get('format')!r} "
                             f"(this program reads format {RECORD_FORMAT})")
        expected = {"format", "version", "device_serial", "board", "created_at", "method",
                    "inputs", "channels"}
        missing = sorted(expected - set(data))
        if missing:
            raise ValueError(f"calibration record is missing field {missing[0]!r}")
        unknown = sorted(str(k) for k in set(data) - expected)
        if unknown:
            raise ValueError(f"calibration record has unknown field {unknown[0]!r}")
        channels = data["channels"]
        if isinstance(channels, str | bytes | Mapping) or not isinstance(channels, Sequence):
            raise ValueError("calibration record field 'channels' must be a list of dicts")
        return cls(version=data["version"], device_serial=data["device_serial"],
                   board=data["board"], created_at=data["created_at"], channels=channels,
                   method=data["method"], inputs=data["inputs"])


# -- the bars: tare and gain --------------------------------------------------------------------


def tare_bars(calibration: RigCalibration, bar_counts: npt.ArrayLike,
              limits: SteadinessLimits | None = None) -> CalibrationResult:
    """New post offsets from ``bar_counts`` (n, 4) read with nothing on the bars.

    Each post's offset becomes the mean of its readings. Refused when there are too few readings,
    when a reading is not a number, or when a post is not steady: its readings, converted to
    newtons with the current gain, spread by more than ``limits.max_peak_to_peak_n`` or have a
    standard deviation above ``limits.max_sd_n`` (someone touching or leaning on the bars).
    """
    limits = limits or SteadinessLimits()
    counts = _bar_counts(bar_counts)
    bars = calibration.bars
    refusal = _usable(counts, limits.min_samples, "the bars")
    if refusal:
        return _refused(calibration, TARE, refusal, {"samples": int(counts.shape[0])})
    mean_counts = counts.mean(axis=0)
    gain = np.abs(bars.newtons_per_count)
    sd_n = counts.std(axis=0) * gain
    spread_n = np.ptp(counts, axis=0) * gain
    inputs = {"samples": int(counts.shape[0]), "mean_counts": _floats(mean_counts),
              "sd_n": _floats(sd_n), "peak_to_peak_n": _floats(spread_n),
              "limits": limits.to_dict()}
    unsteady = _unsteady(sd_n, spread_n, limits)
    if unsteady is not None:
        return _refused(calibration, TARE,
                        f"The bars were not still: {_describe(unsteady, sd_n, spread_n, limits)}. "
                        "Make sure nobody touches or leans on the bars, wait for them to settle, "
                        "then tare again.", inputs)
    new = RigCalibration(calibration.insole_left, calibration.insole_right,
                         bars.tared(mean_counts))
    return CalibrationResult(
        True, f"Bars tared: all {BAR_CHANNELS} posts were steady (largest variation "
              f"{float(spread_n.max()):.2f} N).", new, TARE, inputs, ("bars",))


def post_gain_from_weight(calibration: RigCalibration, bar_counts: npt.ArrayLike, post: int,
                          known_mass_kg: float, limits: SteadinessLimits | None = None,
                          max_change_factor: float = 3.0) -> CalibrationResult:
    """A new gain for bar post ``post`` (channel 0-3) from a known weight resting on it alone.

    ``bar_counts`` (n, 4) are read with the weight in place, after a tare with the bars empty.
    The gain is ``known_mass_kg * g / (mean counts - offset)`` N per count. Refused when the
    readings are too few or unsteady (in newtons with the new gain, see :class:`SteadinessLimits`)
    or when the new gain differs from the current one by more than ``max_change_factor`` either
    way, or has the other sign: the weight is probably not on that post, or its mass is wrong.
    """
    limits = limits or SteadinessLimits()
    counts = _bar_counts(bar_counts)
    if isinstance(post, bool) or not isinstance(post, numbers.Integral) or not (
            0 <= post < BAR_CHANNELS):
        raise ValueError(f"post must be a channel 0-{BAR_CHANNELS - 1}, got {post!r}")
    known_n = _known_weight_n(known_mass_kg)
    _check_change_factor(max_change_factor)
    name = POST_NAMES[post]
    inputs: dict[str, Any] = {"post": int(post), "known_mass_kg": float(known_mass_kg),
                              "samples": int(counts.shape[0])}
    refusal = _usable(counts[:, post:post + 1], limits.min_samples, f"the {name} post")
    if refusal:
        return _refused(calibration, POST_GAIN, refusal, inputs)
    bars = calibration.bars
    column = counts[:, post]
    mean_counts = float(column.mean())
    change_counts = mean_counts - float(bars.offset_counts[post])
    old_gain = float(bars.newtons_per_count[post])
    inputs.update({"mean_counts": mean_counts, "offset_counts": float(bars.offset_counts[post]),
                   "old_newtons_per_count": old_gain, "limits": limits.to_dict()})
    what = f"the weight is on the {name} post alone and its mass ({known_mass_kg:g} kg) is right"
    if change_counts == 0.0:
        return _refused(calibration, POST_GAIN,
                        f"The {name} post did not respond to the weight. Check that {what}.",
                        inputs)
    new_gain = known_n / change_counts
    ratio = new_gain / old_gain
    inputs["new_newtons_per_count"] = new_gain
    refusal = _implausible_change(ratio, max_change_factor, f"the {name} post", what)
    if refusal:
        return _refused(calibration, POST_GAIN, refusal, inputs)
    sd_n = np.array([column.std() * abs(new_gain)])
    spread_n = np.array([np.ptp(column) * abs(new_gain)])
    inputs.update({"sd_n": float(sd_n[0]), "peak_to_peak_n": float(spread_n[0])})
    if _unsteady(sd_n, spread_n, limits) is not None:
        detail = _describe(0, sd_n, spread_n, limits, names=(f"the {name} post",))
        return _refused(calibration, POST_GAIN,
                        f"The weight was not still: {detail}. Let it settle and keep hands off "
                        "the bars, then measure again.", inputs)
    gains = bars.newtons_per_count.copy()
    gains[post] = new_gain
    new = RigCalibration(calibration.insole_left, calibration.insole_right,
                         LinearCalibration(bars.offset_counts, gains))
    return CalibrationResult(
        True, f"The {name} post now reads the {known_mass_kg:g} kg weight as {known_n:.1f} N "
              f"(its gain changed by {100.0 * (ratio - 1.0):+.1f} %).",
        new, POST_GAIN, inputs, ("bars",))


def bar_gain_from_weight(calibration: RigCalibration, bar_counts: npt.ArrayLike,
                         bar: Literal["left", "right"], known_mass_kg: float,
                         limits: SteadinessLimits | None = None,
                         max_change_factor: float = 3.0) -> CalibrationResult:
    """Both posts of one bar scaled by one factor from a known weight hanging on that bar.

    The factor is ``known_mass_kg * g / (F_front + F_rear)``, the posts' forces measured with the
    current calibration (means over ``bar_counts`` (n, 4), read after a tare). This corrects the
    bar's overall gain and keeps the ratio of its two posts' gains, so it is exact only when that
    ratio is already right; :func:`post_gain_from_weight` on each post is exact. Refused like it.
    """
    limits = limits or SteadinessLimits()
    counts = _bar_counts(bar_counts)
    if bar not in ("left", "right"):
        raise ValueError(f"bar must be 'left' or 'right', got {bar!r}")
    known_n = _known_weight_n(known_mass_kg)
    _check_change_factor(max_change_factor)
    posts = [0, 1] if bar == "left" else [2, 3]
    inputs: dict[str, Any] = {"bar": bar, "known_mass_kg": float(known_mass_kg),
                              "samples": int(counts.shape[0])}
    refusal = _usable(counts[:, posts], limits.min_samples, f"the {bar} bar")
    if refusal:
        return _refused(calibration, BAR_GAIN, refusal, inputs)
    bars = calibration.bars
    post_n = kernels.linear_counts_to_newtons(counts, bars.offset_counts, bars.newtons_per_count)
    bar_n = post_n[:, posts[0]] + post_n[:, posts[1]]
    measured_n = float(bar_n.mean())
    inputs.update({"measured_n": measured_n, "limits": limits.to_dict()})
    what = f"the weight hangs on the {bar} bar alone and its mass ({known_mass_kg:g} kg) is right"
    if measured_n == 0.0:
        return _refused(calibration, BAR_GAIN,
                        f"The {bar} bar did not respond to the weight. Check that {what}.",
                        inputs)
    factor = known_n / measured_n
    inputs["factor"] = factor
    refusal = _implausible_change(factor, max_change_factor, f"the {bar} bar", what)
    if refusal:
        return _refused(calibration, BAR_GAIN, refusal, inputs)
    sd_n = np.array([bar_n.std() * factor])
    spread_n = np.array([np.ptp(bar_n) * factor])
    inputs.update({"sd_n": float(sd_n[0]), "peak_to_peak_n": float(spread_n[0])})
    if _unsteady(sd_n, spread_n, limits) is not None:
        detail = _describe(0, sd_n, spread_n, limits, names=(f"the {bar} bar",))
        return _refused(calibration, BAR_GAIN,
                        f"The weight was not still: {detail}. Let it settle and keep hands off "
                        "the bars, then measure again.", inputs)
    gains = bars.newtons_per_count.copy()
    gains[posts] *= factor
    new = RigCalibration(calibration.insole_left, calibration.insole_right,
                         LinearCalibration(bars.offset_counts, gains))
    return CalibrationResult(
        True, f"The {bar} bar now reads the {known_mass_kg:g} kg weight as {known_n:.1f} N "
              f"(its gain changed by {100.0 * (factor - 1.0):+.1f} %).",
        new, BAR_GAIN, inputs, ("bars",))


# -- the insoles: body weight -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StandingPhase:
    """Raw readings of one still-standing phase, merged on one timeline (same ``n`` rows).

    ``left_counts`` (n, kL) and ``right_counts`` (n, kR): FSR counts of each insole in layout
    channel order; ``bar_counts`` (n, 4): HX711 counts of the posts.
    """

    left_counts: npt.ArrayLike
    right_counts: npt.ArrayLike
    bar_counts: npt.ArrayLike


_PHASE_NAMES = ("standing on both feet", "standing on the left foot only",
                "standing on the right foot only")
#: The standing phases' short keys (the rig's API and the console use them), in order.
PHASE_KEYS = ("both", "left", "right")


@dataclass(frozen=True, eq=False)
class PhaseCheck:
    """One standing phase checked as soon as it is captured: ``accepted``, or refused with
    ``reason`` (what went wrong, what to do: repeat this phase). ``inputs`` (JSON-ready): samples,
    mean and standard deviation of each foot and of both bars in % body weight (``*_pct_bw``)
    read with the current calibration."""

    phase: str
    accepted: bool
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)


def check_standing_phase(calibration: RigCalibration, body_mass_kg: float, phase_key: str,
                         phase: StandingPhase, both_feet: StandingPhase | None = None,
                         limits: BodyWeightLimits | None = None) -> PhaseCheck:
    """Check one phase of :func:`insole_body_weight_calibration` on its own, as it ends.

    ``phase_key`` is ``"both"``, ``"left"`` (standing on the left foot only) or ``"right"``.
    The same limits as the whole calibration, per phase: enough valid readings; each foot and
    the bars steady (standard deviation at most ``max_sd_pct_bw`` of body weight); the bars
    carrying at most ``max_bars_pct_bw``; every foot that stands reads a load; in a one-foot
    phase, the lifted foot reads at most ``max_lifted_foot_fraction`` of what it read on both
    feet (``both_feet``, when that phase was captured) or else of what the standing foot reads
    now. A refusal names the phase; only that phase needs repeating.
    """
    limits = limits or BodyWeightLimits()
    if phase_key not in PHASE_KEYS:
        raise ValueError(f"phase must be one of {list(PHASE_KEYS)}, got {phase_key!r}")
    if not (isinstance(body_mass_kg, numbers.Real) and math.isfinite(body_mass_kg)
            and body_mass_kg > 0.0):
        raise ValueError(f"body_mass_kg must be a positive number, got {body_mass_kg!r}")
    weight_n = float(body_mass_kg) * STANDARD_GRAVITY
    name = _PHASE_NAMES[PHASE_KEYS.index(phase_key)]
    left, right, bars = _phase_counts(phase, calibration)
    inputs: dict[str, Any] = {"samples": int(left.shape[0])}

    def refused(reason: str) -> PhaseCheck:
        return PhaseCheck(phase_key, False, reason[0].upper() + reason[1:], inputs)

    for who, counts in (("the left insole", left), ("the right insole", right),
                        ("the bars", bars)):
        refusal = _usable(counts, limits.min_samples, who)
        if refusal:
            return refused(f"While {name}: {refusal}")
    loads = _phase_loads(left, right, bars, calibration)
    means = [float(load.mean()) for load in loads]
    sds = [float(load.std()) for load in loads]
    for key, mean, sd in zip(("left_foot", "right_foot", "bars"), means, sds, strict=True):
        inputs[f"{key}_pct_bw"] = round(100.0 * mean / weight_n, 2)
        inputs[f"{key}_sd_pct_bw"] = round(100.0 * sd / weight_n, 2)
    for what, sd in zip(("the left foot", "the right foot", "the bars"), sds, strict=True):
        if sd > limits.max_sd_pct_bw / 100.0 * weight_n:
            return refused(
                f"The patient was not standing still while {name}: the load on {what} varied by "
                f"{_pct(sd, weight_n)} of body weight (standard deviation; limit "
                f"{limits.max_sd_pct_bw:g} %). Ask the patient to stand as still as they can and "
                "repeat this phase.")
    if means[2] > limits.max_bars_pct_bw / 100.0 * weight_n:
        return refused(
            f"The patient held the bars too much while {name}: {_pct(means[2], weight_n)} of "
            f"body weight on the bars (limit {limits.max_bars_pct_bw:g} %). Ask them to rest "
            "their hands lightly, or stand beside them for safety, and repeat this phase.")
    standing = {"both": (0, 1), "left": (0,), "right": (1,)}[phase_key]
    for j in standing:
        if not means[j] > 0.0:
            foot = ("left", "right")[j]
            return refused(
                f"The {foot} insole read no load while {name}. Check that it is plugged in and "
                "lies flat in the shoe, then repeat this phase.")
    if phase_key != "both":
        lifted = 1 - standing[0]
        foot = ("left", "right")[lifted]
        reference_n, against = means[standing[0]], "the standing foot carries now"
        if both_feet is not None:
            both = _phase_loads(*_phase_counts(both_feet, calibration), calibration)
            reference_n, against = float(both[lifted].mean()), "it carried on both feet"
        inputs["lifted_foot_fraction"] = (round(means[lifted] / reference_n, 3)
                                          if reference_n > 0.0 else None)
        if means[lifted] > limits.max_lifted_foot_fraction * max(reference_n, 0.0):
            share = (f"{100.0 * means[lifted] / reference_n:.0f} % of what {against}"
                     if reference_n > 0.0 else f"{_pct(means[lifted], weight_n)} of body weight")
            return refused(
                f"The {foot} foot did not seem lifted while {name}: it still carried {share} "
                f"(limit {100.0 * limits.max_lifted_foot_fraction:.0f} %). Repeat this phase "
                f"with the {foot} foot clear of the floor.")
    return PhaseCheck(phase_key, True,
                      f"Phase accepted ({name}): left foot {inputs['left_foot_pct_bw']:.0f} %, "
                      f"right foot {inputs['right_foot_pct_bw']:.0f} %, bars "
                      f"{inputs['bars_pct_bw']:.0f} % of body weight.", inputs)


def insole_body_weight_calibration(calibration: RigCalibration, body_mass_kg: float,
                                   both_feet: StandingPhase, left_only: StandingPhase,
                                   right_only: StandingPhase,
                                   limits: BodyWeightLimits | None = None) -> CalibrationResult:
    """Scale each insole so that what the feet carry matches body weight minus the bars.

    The patient (body mass ``body_mass_kg``) stands still on both feet, then on the left foot
    only, then on the right foot only, holding the bars as lightly as they safely can. With the
    current calibration each phase ``p`` gives mean loads ``L_p``, ``R_p`` (feet) and ``B_p``
    (both bars, all in N). One factor per insole, ``k_L`` and ``k_R``, multiplies that insole's
    FSR forces (power-law ``gain_n``, table ``newtons``) so that
    ``k_L * L_p + k_R * R_p = W - B_p`` with ``W = m g``; the
    three phases give three such equations, solved for the two factors by least squares.

    Refused, with the phase and the number, when: a phase is too short or has invalid readings;
    a load in a phase is not steady (standard deviation above ``max_sd_pct_bw``); the bars carry
    more than ``max_bars_pct_bw`` on average; the lifted foot still carries load; an insole reads
    no load; a factor falls outside ``[min_factor, max_factor]``; or after scaling a phase still
    misses body weight by more than ``max_mismatch_pct_bw``.
    """
    limits = limits or BodyWeightLimits()
    if not (isinstance(body_mass_kg, numbers.Real) and math.isfinite(body_mass_kg)
            and body_mass_kg > 0.0):
        raise ValueError(f"body_mass_kg must be a positive number, got {body_mass_kg!r}")
    weight_n = float(body_mass_kg) * STANDARD_GRAVITY
    phases = (both_feet, left_only, right_only)
    inputs: dict[str, Any] = {"body_mass_kg": float(body_mass_kg), "limits": limits.to_dict()}

    loads: list[tuple[FloatArray, FloatArray, FloatArray]] = []
    for p, (phase_name, phase) in enumerate(zip(_PHASE_NAMES, phases, strict=True)):
        left, right, bars = _phase_counts(phase, calibration)
        for who, counts in (("the left insole", left), ("the right insole", right),
                            ("the bars", bars)):
            refusal = _usable(counts, limits.min_samples, who)
            if refusal:
                return _refused(calibration, BODY_WEIGHT,
                                f"While {phase_name}: {refusal}", inputs, PHASE_KEYS[p])
        loads.append(_phase_loads(left, right, bars, calibration))

    means = np.array([[load.mean() for load in phase] for phase in loads])  # (3, [L, R, B])
    sds = np.array([[load.std() for load in phase] for phase in loads])
    inputs["phases"] = [
        {"phase": key, "samples": int(phase[0].shape[0]),
         "left_foot_n": float(m[0]), "right_foot_n": float(m[1]), "bars_n": float(m[2]),
         "left_foot_sd_n": float(s[0]), "right_foot_sd_n": float(s[1]), "bars_sd_n": float(s[2])}
        for key, phase, m, s in zip(("both_feet", "left_only", "right_only"), loads, means, sds,
                                    strict=True)]

    max_sd_n = limits.max_sd_pct_bw / 100.0 * weight_n
    for p, phase_name in enumerate(_PHASE_NAMES):
        for j, what in enumerate(("the left foot", "the right foot", "the bars")):
            if sds[p, j] > max_sd_n:
                return _refused(
                    calibration, BODY_WEIGHT,
                    f"The patient was not standing still while {phase_name}: the load on {what} "
                    f"varied by {_pct(sds[p, j], weight_n)} of body weight (standard deviation; "
                    f"limit {limits.max_sd_pct_bw:g} %). Ask the patient to stand as still as "
                    "they can and repeat this phase.", inputs, PHASE_KEYS[p])
    for p, phase_name in enumerate(_PHASE_NAMES):
        if means[p, 2] > limits.max_bars_pct_bw / 100.0 * weight_n:
            return _refused(
                calibration, BODY_WEIGHT,
                f"The patient held the bars too much while {phase_name}: "
                f"{_pct(means[p, 2], weight_n)} of body weight on the bars (limit "
                f"{limits.max_bars_pct_bw:g} %). Ask them to rest their hands lightly, or stand "
                "beside them for safety, and repeat this phase.", inputs, PHASE_KEYS[p])
    # (foot column, the phase the foot stands alone, the phase it is lifted)
    for j, foot, alone, lifted in ((0, "left", 1, 2), (1, "right", 2, 1)):
        if not (means[0, j] > 0.0 and means[alone, j] > 0.0):
            return _refused(
                calibration, BODY_WEIGHT,
                f"The {foot} insole read no load while the patient stood on it. Check that it is "
                "plugged in and lies flat in the shoe, then repeat the calibration.", inputs)
        if means[lifted, j] > limits.max_lifted_foot_fraction * means[0, j]:
            return _refused(
                calibration, BODY_WEIGHT,
                f"The {foot} foot did not seem lifted while {_PHASE_NAMES[lifted]}: it still "
                f"carried {100.0 * means[lifted, j] / means[0, j]:.0f} % of its load on both "
                f"feet (limit {100.0 * limits.max_lifted_foot_fraction:.0f} %). Repeat this "
                f"phase with the {foot} foot clear of the floor.", inputs, PHASE_KEYS[lifted])

    feet = means[:, :2]
    target = weight_n - means[:, 2]
    factors = np.linalg.lstsq(feet, target, rcond=None)[0]
    mismatch_pct = 100.0 * (feet @ factors - target) / weight_n
    inputs.update({"left_factor": float(factors[0]), "right_factor": float(factors[1]),
                   "mismatch_pct_bw": _floats(mismatch_pct)})
    for foot, factor in zip(("left", "right"), factors, strict=True):
        if not limits.min_factor <= factor <= limits.max_factor:
            return _refused(
                calibration, BODY_WEIGHT,
                f"The {foot} insole would need its readings multiplied by {factor:.2f}, outside "
                f"the plausible {limits.min_factor:g}-{limits.max_factor:g}. Check the body mass "
                f"({body_mass_kg:g} kg), the insole size and that it is plugged in and lies flat "
                "in the shoe, then repeat the calibration.", inputs)
    worst = int(np.argmax(np.abs(mismatch_pct)))
    if abs(mismatch_pct[worst]) > limits.max_mismatch_pct_bw:
        return _refused(
            calibration, BODY_WEIGHT,
            f"The three phases do not agree: even after scaling, the load while "
            f"{_PHASE_NAMES[worst]} misses body weight by {abs(mismatch_pct[worst]):.1f} % "
            f"(limit {limits.max_mismatch_pct_bw:g} %). The patient may have moved or leaned; "
            "repeat the calibration.", inputs)

    left_fsr, right_fsr = calibration.insole_left, calibration.insole_right
    new = RigCalibration(
        left_fsr.scaled(float(factors[0])), right_fsr.scaled(float(factors[1])),
        calibration.bars)
    return CalibrationResult(
        True, f"Insoles calibrated to {body_mass_kg:g} kg: left readings x{factors[0]:.2f}, "
              f"right x{factors[1]:.2f}; every phase within "
              f"{float(np.abs(mismatch_pct).max()):.1f} % of body weight.",
        new, BODY_WEIGHT, inputs, ("insole_left", "insole_right"))


# -- helpers ------------------------------------------------------------------------------------


def _positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _known_weight_n(known_mass_kg: float) -> float:
    if not (isinstance(known_mass_kg, numbers.Real) and math.isfinite(known_mass_kg)
            and known_mass_kg > 0.0):
        raise ValueError(f"known_mass_kg must be a positive number, got {known_mass_kg!r}")
    return float(known_mass_kg) * STANDARD_GRAVITY


def _check_change_factor(factor: float) -> None:
    if not (math.isfinite(factor) and factor > 1.0):
        raise ValueError(f"max_change_factor must be a number above 1, got {factor!r}")


def _bar_counts(values: npt.ArrayLike) -> FloatArray:
    counts = np.array(values, dtype=np.float64, order="C")
    if counts.ndim != 2 or counts.shape[1] != BAR_CHANNELS:
        raise ValueError(f"bar counts must be (n, {BAR_CHANNELS}), got shape {counts.shape}")
    return counts


def _phase_counts(phase: StandingPhase, calibration: RigCalibration
                  ) -> tuple[FloatArray, FloatArray, FloatArray]:
    left = np.array(phase.left_counts, dtype=np.float64, order="C")
    right = np.array(phase.right_counts, dtype=np.float64, order="C")
    bars = _bar_counts(phase.bar_counts)
    for side, counts, fsr in (("left", left, calibration.insole_left),
                              ("right", right, calibration.insole_right)):
        if counts.ndim != 2 or counts.shape[1] != fsr.channels:
            raise ValueError(f"{side} insole counts must be (n, {fsr.channels}), "
                             f"got shape {counts.shape}")
    if not left.shape[0] == right.shape[0] == bars.shape[0]:
        raise ValueError("a phase's left, right and bar counts must have the same number of "
                         f"rows, got {left.shape[0]}, {right.shape[0]}, {bars.shape[0]}")
    return left, right, bars


def _phase_loads(left: FloatArray, right: FloatArray, bars: FloatArray,
                 calibration: RigCalibration) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Left foot, right foot and both bars (n,) in N with the current calibration."""
    feet = []
    for counts, fsr in ((left, calibration.insole_left), (right, calibration.insole_right)):
        sensor_n = kernels.fsr_curves_to_newtons(counts, fsr.curves)
        feet.append(kernels.foot_force(sensor_n))
    post_n = kernels.linear_counts_to_newtons(bars, calibration.bars.offset_counts,
                                              calibration.bars.newtons_per_count)
    return feet[0], feet[1], post_n.sum(axis=1)


def _usable(counts: FloatArray, min_samples: int, what: str) -> str:
    """Why readings cannot be used (too few, not numbers), or "" when they can."""
    if counts.shape[0] < min_samples:
        return (f"the measurement of {what} was too short ({counts.shape[0]} readings, at least "
                f"{min_samples} needed). Measure again and wait until it finishes.")
    if not np.isfinite(counts).all():
        return (f"{what} sent invalid readings. Check the cable and the board's connection, "
                "then measure again.")
    return ""


def _unsteady(sd_n: FloatArray, spread_n: FloatArray, limits: SteadinessLimits) -> int | None:
    """The channel furthest over a steadiness limit, or None when all are steady."""
    excess = np.maximum(spread_n / limits.max_peak_to_peak_n, sd_n / limits.max_sd_n)
    worst = int(np.argmax(excess))
    return worst if excess[worst] > 1.0 else None


def _describe(channel: int, sd_n: FloatArray, spread_n: FloatArray, limits: SteadinessLimits,
              names: Sequence[str] | None = None) -> str:
    name = names[channel] if names else f"the {POST_NAMES[channel]} post"
    return (f"{name} varied by {spread_n[channel]:.1f} N from lowest to highest (limit "
            f"{limits.max_peak_to_peak_n:g} N), standard deviation {sd_n[channel]:.2f} N "
            f"(limit {limits.max_sd_n:g} N)")


def _implausible_change(ratio: float, max_factor: float, what: str, check: str) -> str:
    if not math.isfinite(ratio) or ratio <= 0.0:
        return (f"The reading of {what} moved the wrong way under the weight. Check that "
                f"{check}, and tare the bars empty first.")
    if not 1.0 / max_factor <= ratio <= max_factor:
        return (f"This would change the gain of {what} by a factor of {ratio:.2f} (allowed "
                f"{1.0 / max_factor:.2f}-{max_factor:g}). Check that {check}, and tare the bars "
                "empty first.")
    return ""


def _refused(calibration: RigCalibration, method: str, reason: str,
             inputs: dict[str, Any], repeat_phase: str | None = None) -> CalibrationResult:
    return CalibrationResult(False, reason[0].upper() + reason[1:], calibration, method, inputs,
                             repeat_phase=repeat_phase)


def _floats(values: FloatArray) -> list[float]:
    return [float(v) for v in values]


def _pct(force_n: float, weight_n: float) -> str:
    return f"{100.0 * force_n / weight_n:.1f} %"
