"""A virtual patient between the parallel bars: where the body weight goes, sample by sample.

The model is quasi-static: at every instant the two feet and the two bars carry exactly the body
weight (m · 9.80665 N); what the feet do not take, the hands push into the bars. It is
deterministic (seeded) and vectorised over time, so a board can ask for a whole block of samples in
one call.

Frames and units
----------------
* Time: host monotonic seconds (``time.monotonic()``), the same time base for every board.
* Forces: newtons (N), downward positive.
* Insole frame (per foot, mm): origin at the heel centre, +y along the insole toward the toes,
  +x toward the patient's right for both feet (so the left foot's layout is the mirror image of the
  right's). Sensor positions come in as arrays (k, 2), k = 8 or 16, from the layout files; the
  ``drivers`` package never reads them itself.
* Bar frame (mm): position along each bar from its rear end; each bar stands on a rear and a front
  post with a load cell under each. Post channels are ordered
  [left front, left rear, right front, right rear] like the bars board's channel map.

Activities
----------
``"walking"`` between the bars (prosthetic stance shorter and lighter than the sound one, heel to
toe roll-over, stride-to-stride variability), ``"standing"`` quietly with sway, and
``"weight_shift"`` (slow side-to-side sinusoid), and ``"off_rig"``: nobody on the insoles or the
bars (before the patient steps in, e.g. while the therapist tares the bars; the only activity in
which the loads do not add up to body weight); ``"standing_on_left"`` / ``"standing_on_right"``:
quiet standing on one foot, the other lifted, for the insole body-weight calibration;
``"sit_to_stand"``: repetitions of rising from a chair and sitting back (seated with the feet
lightly loaded, a rise in which the hands push on the bars and the feet take the weight, less on
the prosthetic side, a moment standing, sitting back; :class:`SitToStandParameters`). While
seated the chair carries the rest of the body weight: with ``"off_rig"`` the only times the feet
and bars do not add up to body weight.

Targets
-------
:meth:`PatientModel.set_targets` tells the patient the therapist's band (and limit): from then
on, while walking, each prosthetic step's peak load is drawn around the band
(:meth:`TargetResponse.draw_peak_pct_bw`: mostly in it, sometimes under or a bit over, sometimes
too much, over the limit when there is one); weight shifting swings with the band's period (the
band changes leg every ``shift_period_s``) and carries the band's centre on the leg it is on.
Without targets (the default) the patient walks and shifts with its own
:class:`GaitParameters` and :class:`BalanceParameters`.

Ground truth for the exercises' figures: :meth:`PatientModel.repetitions_between` (sit-to-stand),
:meth:`PatientModel.step_peaks_between` (prosthetic step peaks),
:meth:`PatientModel.sway_ellipse_area_mm2` (quiet standing's 95 % ellipse).
:meth:`PatientModel.set_activity` switches with
continuity: a walking patient first reaches the middle of a double support, then the old and the
new posture are blended over ``transition_s``; a patient who starts walking does so from the middle
of a double support after the blend. Gait events exist only while walking.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from gaitrig.processing.layouts import load_insole_layout
from gaitrig.processing.units import STANDARD_GRAVITY

FloatArray = npt.NDArray[np.float64]

ACTIVITIES = ("walking", "standing", "weight_shift", "off_rig", "standing_on_left",
              "standing_on_right", "sit_to_stand")
#: Squared Mahalanobis radius of the large-sample 95 % ellipse: the chi-square quantile.
CHI2_95_2DOF = -2.0 * math.log(0.05)
SIDES = ("left", "right")
HEEL_STRIKE = "heel_strike"
TOE_OFF = "toe_off"

def generic_insole_positions_mm(sensor_count: int = 8) -> dict[str, FloatArray]:
    """Sensor positions for both feet (mm, insole frame) of the rig's packaged insole layout
    (``gaitrig.processing.layouts``, size EU 42): the same geometry the rig computes with."""
    if sensor_count not in (8, 16):
        raise ValueError(f"an insole has 8 or 16 sensors, not {sensor_count}")
    return {side: load_insole_layout(sensor_count, 42, side).positions_mm.copy()
            for side in ("left", "right")}


@dataclass(frozen=True, slots=True)
class GaitParameters:
    """How the virtual patient walks between the bars.

    A stride begins at the prosthetic heel strike. Fractions are of the stride time (stance
    fractions, sound heel strike) or of body weight (peak loads). The defaults describe a slow,
    careful rehab gait: the prosthetic stance is shorter and carries less, the bars take the rest.
    """

    cadence_steps_per_min: float = 80.0
    stride_time_cv: float = 0.03  # coefficient of variation of the stride time
    prosthetic_stance_fraction: float = 0.60
    sound_stance_fraction: float = 0.68
    sound_heel_strike_fraction: float = 0.48  # when the sound heel strikes within the stride
    prosthetic_peak_fraction_bw: float = 0.62  # single-support load on the prosthetic foot
    sound_peak_fraction_bw: float = 0.85
    peak_cv: float = 0.02  # step-to-step variation of the peak loads
    midstance_dip: float = 0.06  # the load dips this much (fraction of peak) in mid single support
    step_length_mm: float = 350.0  # sets how fast the hands travel along the bars

    def __post_init__(self) -> None:
        first_double = self.first_double_support_fraction
        if not 0.0 < first_double < self.sound_heel_strike_fraction:
            raise ValueError("sound heel strike + sound stance must end the first double support "
                             "after the stride start and before the sound heel strike")
        if not (self.sound_heel_strike_fraction < self.prosthetic_stance_fraction < 1.0):
            raise ValueError("prosthetic toe off must follow the sound heel strike in the stride")
        if self.cadence_steps_per_min <= 0:
            raise ValueError("cadence must be positive")
        if max(self.prosthetic_peak_fraction_bw, self.sound_peak_fraction_bw) * (
                1 + 3 * self.peak_cv) >= 1.0:
            raise ValueError("peak foot loads must leave some weight on the bars")

    @property
    def stride_time_s(self) -> float:
        """Mean stride time (two steps), s."""
        return 120.0 / self.cadence_steps_per_min

    @property
    def first_double_support_fraction(self) -> float:
        """End of the double support that begins at the prosthetic heel strike (stride fraction)."""
        return self.sound_heel_strike_fraction + self.sound_stance_fraction - 1.0


@dataclass(frozen=True, slots=True)
class BalanceParameters:
    """Quiet standing and weight shifting (fractions of body weight, mm, s)."""

    standing_bar_fraction_bw: float = 0.08  # steady support through the hands while standing
    standing_prosthetic_share: float = 0.44  # prosthetic foot's share of the feet's load
    standing_share_wobble: float = 0.03  # slow weight oscillation between the feet (share)
    standing_cop_y_fraction: float = 0.42  # where the CoP rests, from heel (0) to toes (1)
    sway_mm: float = 1.5  # amplitude of the sway of the pressure centre that loads the sensors
    shift_period_s: float = 5.0
    shift_prosthetic_share_mean: float = 0.45
    shift_prosthetic_share_amplitude: float = 0.30
    shift_bar_fraction_bw: float = 0.10
    hand_lean: float = 0.10  # bar share moves toward the more loaded foot's side by this much


@dataclass(frozen=True, slots=True)
class SitToStandParameters:
    """How the patient rises from a chair and sits back, repetition after repetition.

    One repetition every ``cycle_s`` (the pace): seated, rise (``rise_s``), standing
    (``stand_s``), sitting back (``sit_s``); seated the rest of the cycle. Fractions are of body
    weight (loads) or of the feet's load (prosthetic share). During the rise the chair unloads
    until seat-off (``seat_off_fraction`` of the rise), while the hands push hardest on the bars;
    then the bars give the weight back to the feet until standing.
    """

    cycle_s: float = 6.0
    rise_s: float = 1.3
    stand_s: float = 1.5
    sit_s: float = 1.5
    seat_off_fraction: float = 0.4
    seated_feet_fraction_bw: float = 0.20  # both feet together, seated
    seated_bar_fraction_bw: float = 0.02  # hands resting on the bars, seated
    seat_off_bar_fraction_bw: float = 0.30  # the hands' push at seat-off
    standing_bar_fraction_bw: float = 0.08
    seated_prosthetic_share: float = 0.45
    rise_prosthetic_share: float = 0.36  # at seat-off: the sound leg does more of the work
    standing_prosthetic_share: float = 0.44

    def __post_init__(self) -> None:
        if min(self.rise_s, self.stand_s, self.sit_s) <= 0:
            raise ValueError("rise, stand and sit times must be positive")
        if self.seated_s < 0.5:
            raise ValueError(f"a cycle of {self.cycle_s} s leaves less than 0.5 s seated")
        if not 0.0 < self.seat_off_fraction < 1.0:
            raise ValueError("seat-off must fall within the rise")
        if self.seated_feet_fraction_bw + self.seated_bar_fraction_bw > 1.0:
            raise ValueError("seated, the feet and bars cannot carry more than body weight")

    @property
    def seated_s(self) -> float:
        """Time seated in each cycle, s."""
        return self.cycle_s - self.rise_s - self.stand_s - self.sit_s

    @property
    def repetitions_per_min(self) -> float:
        return 60.0 / self.cycle_s

    def fractions(self, u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Chair and bar load (fractions of BW) and the prosthetic share of the feet's load at
        rise progress ``u`` (0 seated .. 1 standing); the feet carry the rest."""
        a = _smoothstep(u / self.seat_off_fraction)
        b = _smoothstep((u - self.seat_off_fraction) / (1.0 - self.seat_off_fraction))
        seat = (1.0 - self.seated_feet_fraction_bw - self.seated_bar_fraction_bw) * (1.0 - a)
        bars = (self.seated_bar_fraction_bw
                + (self.seat_off_bar_fraction_bw - self.seated_bar_fraction_bw) * a
                + (self.standing_bar_fraction_bw - self.seat_off_bar_fraction_bw) * b)
        share = (self.seated_prosthetic_share
                 + (self.rise_prosthetic_share - self.seated_prosthetic_share) * a
                 + (self.standing_prosthetic_share - self.rise_prosthetic_share) * b)
        return seat, bars, share


@dataclass(frozen=True, slots=True)
class TargetResponse:
    """The therapist's targets as the patient hears them (% body weight on the prosthesis).

    A prosthetic step's peak is drawn by :meth:`draw_peak_pct_bw` from two uniform numbers:
    70 % of steps inside the band (its middle 70 %), 10 % a little under it, 10 % a bit over it
    (below the limit when there is one), 10 % too much (2-10 % BW over the limit, or 10-20 % BW
    over the band without a limit). The walking patient draws them in blocks of ten steps that
    hold these shares exactly, in a seeded order.
    """

    band_low_pct_bw: float
    band_high_pct_bw: float
    limit_pct_bw: float | None = None
    shift_period_s: float = 5.0

    IN_BAND = 0.70
    UNDER = 0.10
    BIT_OVER = 0.10

    def __post_init__(self) -> None:
        if not 0.0 <= self.band_low_pct_bw <= self.band_high_pct_bw:
            raise ValueError("the band needs 0 <= low <= high")
        if self.limit_pct_bw is not None and self.limit_pct_bw < self.band_high_pct_bw:
            raise ValueError("the limit is below the top of the band")
        if not self.shift_period_s > 0:
            raise ValueError("the weight-shift period must be positive")

    @property
    def centre_pct_bw(self) -> float:
        return 0.5 * (self.band_low_pct_bw + self.band_high_pct_bw)

    def draw_peak_pct_bw(self, u: FloatArray, v: FloatArray) -> FloatArray:
        """Peaks (% BW) for uniform draws ``u`` (which kind of step) and ``v`` (where in it)."""
        low, high, limit = self.band_low_pct_bw, self.band_high_pct_bw, self.limit_pct_bw
        width = high - low
        in_band = low + width * (0.15 + 0.70 * v)
        under = low - (2.0 + 4.0 * v)
        if limit is None:
            bit_over = high + 2.0 + 6.0 * v
            too_much = high + 10.0 + 10.0 * v
        else:
            gap = limit - high
            bit_over = np.where(gap > 2.0, high + gap * (0.2 + 0.6 * v), high + 0.5 * gap)
            too_much = limit + 2.0 + 8.0 * v
        c1 = self.IN_BAND
        c2 = c1 + self.UNDER
        c3 = c2 + self.BIT_OVER
        peak = np.where(u < c1, in_band, np.where(u < c2, under,
                                                   np.where(u < c3, bit_over, too_much)))
        result: FloatArray = np.clip(peak, 5.0, 95.0)  # some weight stays on the bars
        return result


class Repetition(NamedTuple):
    """One sit-to-stand repetition's ground truth (host s, % body weight).

    ``rise_start_s``: the chair begins to unload; ``seat_off_s``: it carries nothing;
    ``standing_s``: standing reached (end of the rise); ``sit_start_s`` / ``seated_s``: sitting
    back begins / ends; ``number`` counts from 0 in its sit-to-stand bout. Loads are of each
    foot during the rise (``rise_start_s`` to ``standing_s``), sampled at 1 kHz.
    """

    number: int
    rise_start_s: float
    seat_off_s: float
    standing_s: float
    sit_start_s: float
    seated_s: float
    rise_time_s: float
    prosthetic_peak_pct_bw: float
    sound_peak_pct_bw: float
    prosthetic_mean_pct_bw: float
    sound_mean_pct_bw: float


class StepPeak(NamedTuple):
    """A prosthetic step's ground truth: heel strike, toe off (host s), peak load (% BW)."""

    heel_strike_s: float
    toe_off_s: float
    peak_pct_bw: float


class GaitEvent(NamedTuple):
    """A ground-truth gait event: which foot, ``"heel_strike"`` or ``"toe_off"``, when (host s)."""

    side: str
    kind: str
    t_s: float


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """What the patient did at times ``t_s`` (n,): forces in N, positions in mm.

    ``left_sensor_n``/``right_sensor_n`` (n, k) are per-sensor forces summing to the foot forces;
    ``bar_post_n`` (n, 4) is [left front, left rear, right front, right rear];
    ``left_hand_mm``/``right_hand_mm`` the hand position along each bar from its rear end (lever
    rule from the posts, NaN when the bar carries nothing); ``left_cop_mm``/``right_cop_mm`` (n, 2)
    the sensor-force-weighted centroid of the sensor positions in the insole frame (NaN when the
    foot carries nothing).
    """

    t_s: FloatArray
    body_weight_n: float
    left_foot_n: FloatArray
    right_foot_n: FloatArray
    left_sensor_n: FloatArray
    right_sensor_n: FloatArray
    left_bar_n: FloatArray
    right_bar_n: FloatArray
    bar_post_n: FloatArray
    left_hand_mm: FloatArray
    right_hand_mm: FloatArray
    left_cop_mm: FloatArray
    right_cop_mm: FloatArray

    def foot_n(self, side: str) -> FloatArray:
        return self.left_foot_n if side == "left" else self.right_foot_n

    def sensor_n(self, side: str) -> FloatArray:
        return self.left_sensor_n if side == "left" else self.right_sensor_n


@dataclass(frozen=True, slots=True)
class _Posture:
    """The primitives everything else derives from: per-sensor and per-post forces (N)."""

    left_sensor_n: FloatArray
    right_sensor_n: FloatArray
    bar_post_n: FloatArray


@dataclass(frozen=True, slots=True)
class _Want:
    """Which parts of a posture a caller needs: a foot's sensors, the bar posts."""

    left: bool = False
    right: bool = False
    posts: bool = False

    def side(self, side: str) -> bool:
        return self.left if side == "left" else self.right


_ALL = _Want(left=True, right=True, posts=True)
_EMPTY_POSTS = np.empty((0, 4))


@dataclass(frozen=True, slots=True)
class _Stances:
    """Stances of one foot (host s): heel strike, end of loading (the other foot's toe off),
    start of unloading (the other foot's heel strike), toe off; and the peak load (N)."""

    heel_strike: FloatArray
    loaded: FloatArray
    unloading: FloatArray
    toe_off: FloatArray
    peak_n: FloatArray


@dataclass(frozen=True, slots=True)
class _Strides:
    starts: FloatArray  # (N + 1,) host s; stride i runs from starts[i] to starts[i + 1]
    prosthetic: _Stances
    sound: _Stances

    @property
    def valid_until_s(self) -> float:
        """Every stance that touches a time before this is complete in the arrays."""
        return float(self.starts[-2])


class _GaitTimeline:
    """The strides of one walking bout, drawn lazily in fixed chunks from its own seeded stream.

    Stride 1 starts half a first-double-support before ``start_s``, so the bout begins in the middle
    of a double support; stride 0 precedes it (its sound stance is under way at the start).
    """

    CHUNK = 128

    def __init__(self, gait: GaitParameters, body_weight_n: float, start_s: float,
                 rng: np.random.Generator, response_rng: np.random.Generator,
                 responses: tuple[tuple[float, TargetResponse | None], ...] = ()) -> None:
        self.gait = gait
        self.start_s = start_s
        self._body_weight_n = body_weight_n
        self._rng = rng
        self._response_rng = response_rng  # its own stream: the default gait stays as it was
        self._responses = responses  # (from host s, response), in time order
        self._lock = threading.Lock()
        self._durations = np.empty(0)
        self._prosthetic_peaks = np.empty(0)
        self._sound_peaks = np.empty(0)
        self._response_draws = np.empty((0, 2))
        self._strides = self._draw_more()

    def set_response(self, from_s: float, response: TargetResponse | None) -> None:
        """Steps whose prosthetic heel strike is at or after ``from_s`` follow ``response``."""
        with self._lock:
            self._responses = (*self._responses, (from_s, response))
            self._strides = self._build()

    def strides_until(self, t_s: float) -> _Strides:
        strides = self._strides
        if strides.valid_until_s > t_s:
            return strides
        with self._lock:
            while self._strides.valid_until_s <= t_s:
                self._strides = self._draw_more()
            return self._strides

    def next_mid_double_support(self, t_s: float) -> float:
        """The first middle of a double support at or after ``t_s`` (host s)."""
        strides = self.strides_until(t_s + 4 * self.gait.stride_time_s)
        p = strides.prosthetic
        mids = np.concatenate([(p.heel_strike + p.loaded) / 2, (p.unloading + p.toe_off) / 2])
        mids = np.sort(mids[mids >= t_s])
        return float(mids[0])

    def _draw_more(self) -> _Strides:
        g = self.gait
        z = np.clip(self._rng.standard_normal((self.CHUNK, 3)), -3.0, 3.0)
        bw = self._body_weight_n
        self._durations = np.concatenate(
            [self._durations, g.stride_time_s * (1.0 + g.stride_time_cv * z[:, 0])])
        p_peaks = bw * g.prosthetic_peak_fraction_bw * (1 + g.peak_cv * z[:, 1])
        self._prosthetic_peaks = np.concatenate([self._prosthetic_peaks, p_peaks])
        self._sound_peaks = np.concatenate(
            [self._sound_peaks, bw * g.sound_peak_fraction_bw * (1 + g.peak_cv * z[:, 2])])
        self._response_draws = np.concatenate([self._response_draws, self._response_block()])
        return self._build()

    def _response_block(self) -> FloatArray:
        """Uniform draws (u, v) for the next strides, ``u`` stratified in blocks of ten: each ten
        consecutive strides take every tenth of 0..1 once, in a seeded order (so every ten
        steps hold exactly the shares of :class:`TargetResponse`)."""
        blocks = -(-self.CHUNK // 10)
        rng = self._response_rng
        u = np.concatenate([(rng.permutation(10) + rng.uniform(0.0, 1.0, 10)) / 10.0
                            for _ in range(blocks)])
        return np.stack([u, rng.uniform(0.0, 1.0, u.size)], axis=1)

    def _build(self) -> _Strides:
        g = self.gait
        durations = self._durations
        n = durations.size
        d1 = g.first_double_support_fraction
        starts = np.empty(n + 1)
        starts[1] = self.start_s - 0.5 * d1 * durations[1]
        starts[0] = starts[1] - durations[0]
        starts[2:] = starts[1] + np.cumsum(durations[1:])
        s, t = starts[:n - 1], durations[:n - 1]
        s_next, t_next = starts[1:n], durations[1:n]
        h, sp = g.sound_heel_strike_fraction, g.prosthetic_stance_fraction
        prosthetic = _Stances(s, s + d1 * t, s + h * t, s + sp * t,
                              self._prosthetic_peaks_for(s))
        sound = _Stances(s + h * t, s + sp * t, s_next, s_next + d1 * t_next,
                         self._sound_peaks[:n - 1])
        return _Strides(starts, prosthetic, sound)

    def _prosthetic_peaks_for(self, heel_strikes: FloatArray) -> FloatArray:
        """Each stride's prosthetic peak (N): its own, or the response's at its heel strike."""
        n = heel_strikes.size
        peaks = self._prosthetic_peaks[:n].copy()
        draws = self._response_draws[:n]
        for index, (from_s, response) in enumerate(self._responses):
            until = self._responses[index + 1][0] if index + 1 < len(self._responses) else math.inf
            chosen = (heel_strikes >= from_s) & (heel_strikes < until)
            if response is not None and chosen.any():
                peaks[chosen] = self._body_weight_n / 100.0 * response.draw_peak_pct_bw(
                    draws[chosen, 0], draws[chosen, 1])
        return peaks


@dataclass(frozen=True, slots=True)
class _Segment:
    """One activity from ``start_s`` to ``end_s`` (host s); walking begins at ``gait.start_s``."""

    activity: str
    start_s: float
    end_s: float
    gait: _GaitTimeline | None


class _Wander:
    """A smooth, zero-mean, unit-RMS random wobble: a few sinusoids with seeded frequencies."""

    def __init__(self, rng: np.random.Generator, low_hz: float, high_hz: float, parts: int = 4):
        self.freq_hz = rng.uniform(low_hz, high_hz, parts)
        self.phase = rng.uniform(0.0, 2 * np.pi, parts)
        self.scale = math.sqrt(2.0 / parts)

    def __call__(self, t_s: FloatArray) -> FloatArray:
        angles = 2 * np.pi * t_s[:, None] * self.freq_hz + self.phase
        result: FloatArray = self.scale * np.sin(angles).sum(axis=1)
        return result


def _unit(v: FloatArray) -> FloatArray:
    """``v`` clipped to 0..1 (ufuncs: much cheaper than np.clip on small arrays)."""
    result: FloatArray = np.minimum(np.maximum(v, 0.0), 1.0)
    return result


def _smoothstep(v: FloatArray) -> FloatArray:
    v = _unit(v)
    result: FloatArray = v * v * (3.0 - 2.0 * v)
    return result


class _Foot:
    """Sensor geometry of one insole and how load spreads over its sensors."""

    def __init__(self, side: str, positions_mm: FloatArray) -> None:
        positions = np.asarray(positions_mm, dtype=np.float64)
        if positions.ndim != 2 or positions.shape[1] != 2 or positions.shape[0] < 2:
            raise ValueError(f"{side} insole positions must be an array (k, 2), got "
                             f"{positions.shape}")
        self.side = side
        self.positions_mm = positions
        self.sensor_count = positions.shape[0]
        self.heel_y_mm = float(positions[:, 1].min())
        self.toe_y_mm = float(positions[:, 1].max())
        self.centre_x_mm = float(positions[:, 0].mean())
        self.lateral_sign = 1.0 if side == "right" else -1.0  # +x is lateral on the right foot
        self.spread_mm = max(20.0, 0.22 * (self.toe_y_mm - self.heel_y_mm))

    def sensor_forces(self, load_n: FloatArray, centre_mm: FloatArray) -> FloatArray:
        """Spread ``load_n`` (n,) over the sensors around ``centre_mm`` (n, 2): forces (n, k)."""
        d2 = ((self.positions_mm[None, :, :] - centre_mm[:, None, :]) ** 2).sum(axis=2)
        weights = np.exp(-d2 / (2 * self.spread_mm**2))
        weights /= weights.sum(axis=1, keepdims=True)
        forces: FloatArray = load_n[:, None] * weights
        return forces

    def rollover_centre(self, progress: FloatArray) -> FloatArray:
        """Where the load centres at stance progress 0 (heel strike) .. 1 (toe off), (n, 2) mm.

        From the heel, along the lateral midfoot, to the medial forefoot and the hallux.
        """
        along = 0.5 - 0.5 * np.cos(np.pi * progress)
        y = self.heel_y_mm + (self.toe_y_mm - self.heel_y_mm) * along
        x = self.centre_x_mm + self.lateral_sign * (10.0 * np.sin(np.pi * progress)
                                                    - 14.0 * progress**2)
        return np.stack([x, y], axis=1)

    def resting_centre(self, cop_y_fraction: float, sway_x: FloatArray,
                       sway_y: FloatArray) -> FloatArray:
        y = self.heel_y_mm + (self.toe_y_mm - self.heel_y_mm) * cop_y_fraction + sway_y
        return np.stack([self.centre_x_mm + sway_x, y], axis=1)


class PatientModel:
    """A seeded, parametric patient: body weight shared by the feet and the bars over time.

    ``insole_positions_mm``: {"left": (k, 2), "right": (k, 2)} sensor positions, mm, insole frame.
    ``bar_posts_mm``: (rear post, front post) positions along each bar, mm from its rear end.
    ``start_s``: host time (s) the first activity begins; before it the first posture is held.
    ``transition_s``: how long a change of activity blends the two postures, s.
    ``sit_to_stand``: the repetitions' pace and loads (:class:`SitToStandParameters`).
    """

    def __init__(
        self,
        body_mass_kg: float = 75.0,
        prosthetic_side: str = "left",
        activity: str = "walking",
        insole_positions_mm: dict[str, FloatArray] | None = None,
        bar_posts_mm: tuple[float, float] = (250.0, 2750.0),
        *,
        seed: int = 0,
        start_s: float = 0.0,
        gait: GaitParameters | None = None,
        balance: BalanceParameters | None = None,
        transition_s: float = 1.0,
        sit_to_stand: SitToStandParameters | None = None,
    ) -> None:
        if body_mass_kg <= 0:
            raise ValueError(f"body mass must be positive, got {body_mass_kg} kg")
        if prosthetic_side not in SIDES:
            raise ValueError(f"prosthetic side must be 'left' or 'right', got {prosthetic_side!r}")
        _check_activity(activity)
        rear, front = (float(v) for v in bar_posts_mm)
        if not front > rear:
            raise ValueError(f"the front post ({front} mm) must be ahead of the rear post ({rear})")
        positions = insole_positions_mm or generic_insole_positions_mm(8)
        self.body_mass_kg = float(body_mass_kg)
        self.body_weight_n = self.body_mass_kg * STANDARD_GRAVITY
        self.prosthetic_side = prosthetic_side
        self.sound_side = "right" if prosthetic_side == "left" else "left"
        self.bar_posts_mm = (rear, front)
        self.seed = seed
        self.gait = gait or GaitParameters()
        self.balance = balance or BalanceParameters()
        self.sit_to_stand = sit_to_stand or SitToStandParameters()
        #: What the therapist asked for, from when (host s): set_targets().
        self._responses: tuple[tuple[float, TargetResponse | None], ...] = ()
        self.transition_s = float(transition_s)
        self.feet = {side: _Foot(side, positions[side]) for side in SIDES}
        rng = np.random.default_rng([seed, 0])
        self._sway = {name: _Wander(rng, 0.08, 0.5) for name in
                      ("left_x", "left_y", "right_x", "right_y")}
        self._share_wobble = _Wander(rng, 0.05, 0.15)
        self._bar_wobble = _Wander(rng, 0.05, 0.3)
        self._standing_hand_fraction = 0.40 + rng.uniform(-0.05, 0.05)
        self._lock = threading.Lock()
        self._segments: tuple[_Segment, ...] = (
            self._new_segment(0, activity, start_s, start_s),)

    # -- activity timeline ---------------------------------------------------------------------

    @property
    def activity(self) -> str:
        """The most recently requested activity."""
        return self._segments[-1].activity

    def activity_at(self, t_s: float) -> str:
        """The activity under way at host time ``t_s`` (the new one once its blend has begun)."""
        current = self._segments[0].activity
        for segment in self._segments[1:]:
            if t_s >= segment.start_s:
                current = segment.activity
        return current

    def set_activity(self, activity: str, at_s: float | None = None) -> float:
        """Switch to ``activity`` at host time ``at_s`` (default: now); return when it begins.

        The switch waits for any previous transition to finish; a walking patient switches at the
        next middle of a double support. Switching to the current activity changes nothing.
        """
        _check_activity(activity)
        requested = time.monotonic() if at_s is None else float(at_s)
        with self._lock:
            segments = self._segments
            last = segments[-1]
            if activity == last.activity:
                return last.start_s
            begin = max(requested, last.start_s + (self.transition_s if len(segments) > 1 else 0))
            if last.gait is not None:
                begin = last.gait.next_mid_double_support(max(begin, last.gait.start_s))
            segment = self._new_segment(len(segments), activity, begin,
                                        begin + self.transition_s)
            self._segments = (*segments[:-1], replace(last, end_s=begin), segment)
            return begin

    def _new_segment(self, index: int, activity: str, start_s: float,
                     gait_start_s: float) -> _Segment:
        gait = None
        if activity == "walking":
            rng = np.random.default_rng([self.seed, 1, index])
            gait = _GaitTimeline(self.gait, self.body_weight_n, gait_start_s, rng,
                                 np.random.default_rng([self.seed, 2, index]), self._responses)
        return _Segment(activity, start_s, math.inf, gait)

    # -- targets -------------------------------------------------------------------------------

    @property
    def targets(self) -> TargetResponse | None:
        """The targets the patient follows now (None: its own gait and shift)."""
        return self._responses[-1][1] if self._responses else None

    def set_targets(self, targets: TargetResponse | None, at_s: float | None = None) -> None:
        """Follow ``targets`` from host time ``at_s`` (default now; None: stop following).

        Walking: prosthetic steps whose heel strike comes at or after ``at_s`` take their peak
        from ``targets``; weight shifting: from ``at_s`` the swing follows the band's period and
        centre, in phase with the shift's start (the band on the prosthetic leg first).
        """
        when = time.monotonic() if at_s is None else float(at_s)
        with self._lock:
            if self._responses and self._responses[-1][1] == targets:
                return
            self._responses = (*self._responses, (when, targets))
            for segment in self._segments:
                if segment.gait is not None and segment.end_s > when:
                    segment.gait.set_response(when, targets)


    # -- ground truth --------------------------------------------------------------------------

    def sample(self, t_s: npt.ArrayLike) -> GroundTruth:
        """Ground truth at host times ``t_s`` (s, any shape flattened to (n,))."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        posture = self._posture(t, _ALL)
        left_sensor, right_sensor, posts = (posture.left_sensor_n, posture.right_sensor_n,
                                            posture.bar_post_n)
        left_foot = left_sensor.sum(axis=1)
        right_foot = right_sensor.sum(axis=1)
        left_bar = posts[:, 0] + posts[:, 1]
        right_bar = posts[:, 2] + posts[:, 3]
        return GroundTruth(
            t_s=t,
            body_weight_n=self.body_weight_n,
            left_foot_n=left_foot,
            right_foot_n=right_foot,
            left_sensor_n=left_sensor,
            right_sensor_n=right_sensor,
            left_bar_n=left_bar,
            right_bar_n=right_bar,
            bar_post_n=posts,
            left_hand_mm=self._hand_position(posts[:, 0], left_bar),
            right_hand_mm=self._hand_position(posts[:, 2], right_bar),
            left_cop_mm=self._centroid("left", left_sensor, left_foot),
            right_cop_mm=self._centroid("right", right_sensor, right_foot),
        )

    def sample_sensors(self, side: str, t_s: npt.ArrayLike) -> FloatArray:
        """Per-sensor forces (n, k) of one foot, N: what an insole board needs, nothing more.

        Equal to ``sample(t_s).left_sensor_n`` (or right) but cheaper.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        if side == "left":
            return self._posture(t, _Want(left=True)).left_sensor_n
        return self._posture(t, _Want(right=True)).right_sensor_n

    def sample_bar_posts(self, t_s: npt.ArrayLike) -> FloatArray:
        """Per-post forces (n, 4), N, [left front, left rear, right front, right rear]."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        return self._posture(t, _Want(posts=True)).bar_post_n

    def _walking_between(self, t0_s: float, t1_s: float, asker: str
                         ) -> Iterator[tuple[_GaitTimeline, float, float]]:
        """Each walking bout's gait and the part (lo, hi) of ``t0_s``..``t1_s`` (host s) it
        covers."""
        if not math.isfinite(t1_s):
            raise ValueError(f"{asker} needs a finite end time")
        for segment in self._segments:
            if segment.gait is None:
                continue
            lo, hi = max(t0_s, segment.gait.start_s), min(t1_s, segment.end_s)
            if lo < hi:
                yield segment.gait, lo, hi

    def events_between(self, t0_s: float, t1_s: float) -> list[GaitEvent]:
        """Ground-truth gait events with ``t0_s <= t < t1_s`` (host s), in time order.

        A foot carries load exactly between its heel strike and its toe off. Events exist only
        while walking (from the start of the walking bout until the switch to another activity).
        """
        events: list[GaitEvent] = []
        for gait, lo, hi in self._walking_between(t0_s, t1_s, "events_between"):
            strides = gait.strides_until(hi)
            for side, stances in ((self.prosthetic_side, strides.prosthetic),
                                  (self.sound_side, strides.sound)):
                for kind, times in ((HEEL_STRIKE, stances.heel_strike),
                                    (TOE_OFF, stances.toe_off)):
                    chosen = times[(times >= lo) & (times < hi)]
                    events.extend(GaitEvent(side, kind, float(t)) for t in chosen)
        events.sort(key=lambda event: event.t_s)
        return events

    def step_peaks_between(self, t0_s: float, t1_s: float) -> list[StepPeak]:
        """The prosthetic steps with ``t0_s <= heel strike`` and ``toe off < t1_s`` (host s):
        each one's true peak load (% BW), the largest load its foot carries in that stance."""
        peaks: list[StepPeak] = []
        for gait, lo, hi in self._walking_between(t0_s, t1_s, "step_peaks_between"):
            stances = gait.strides_until(hi).prosthetic
            chosen = (stances.heel_strike >= lo) & (stances.toe_off < hi)
            peaks.extend(StepPeak(float(hs), float(to), float(100.0 * peak / self.body_weight_n))
                         for hs, to, peak in zip(stances.heel_strike[chosen],
                                                 stances.toe_off[chosen],
                                                 stances.peak_n[chosen], strict=True))
        return peaks

    def repetitions_between(self, t0_s: float, t1_s: float) -> list[Repetition]:
        """Sit-to-stand repetitions whose rise starts at or after ``t0_s`` and reaches standing
        before ``t1_s`` (host s) and before the patient turns to another activity; numbered
        from 0 within their sit-to-stand bout."""
        if not math.isfinite(t1_s):
            raise ValueError("repetitions_between needs a finite end time")
        p = self.sit_to_stand
        reps: list[Repetition] = []
        for segment in self._segments:
            if segment.activity != "sit_to_stand":
                continue
            first_rise = segment.start_s + self.transition_s + p.seated_s
            hi = min(t1_s, segment.end_s)
            index = max(0, math.ceil((t0_s - first_rise) / p.cycle_s - 1e-9))
            while True:
                rise = first_rise + index * p.cycle_s
                standing = rise + p.rise_s
                if standing >= hi:
                    break
                if rise >= t0_s:
                    reps.append(self._repetition(index, rise))
                index += 1
        return reps

    def _repetition(self, index: int, rise_s: float) -> Repetition:
        p = self.sit_to_stand
        t = rise_s + np.arange(round(p.rise_s * 1000.0) + 1) / 1000.0
        posture = self._posture(t, _Want(left=True, right=True))
        loads = {"left": posture.left_sensor_n.sum(axis=1),
                 "right": posture.right_sensor_n.sum(axis=1)}
        pct = {side: 100.0 * load / self.body_weight_n for side, load in loads.items()}
        prosthetic, sound = pct[self.prosthetic_side], pct[self.sound_side]
        standing = rise_s + p.rise_s
        return Repetition(index, rise_s, rise_s + p.seat_off_fraction * p.rise_s, standing,
                          standing + p.stand_s, standing + p.stand_s + p.sit_s, p.rise_s,
                          float(prosthetic.max()), float(sound.max()),
                          float(prosthetic.mean()), float(sound.mean()))

    def standing_cop_mm(self, t_s: npt.ArrayLike, stance_width_mm: float) -> FloatArray:
        """The true combined centre of pressure of both feet (n, 2), mm, in a standing frame
        with the heel centres ``stance_width_mm`` apart on the x axis (left at ``-w/2``), feet
        straight ahead (``gaitrig.processing.balance.side_by_side_placement(w)``); NaN where the
        feet carry nothing."""
        truth = self.sample(t_s)
        half = 0.5 * float(stance_width_mm)
        shift = np.array([half, 0.0])
        moment = (truth.left_sensor_n @ (self.feet["left"].positions_mm - shift)
                  + truth.right_sensor_n @ (self.feet["right"].positions_mm + shift))
        total = truth.left_foot_n + truth.right_foot_n
        with np.errstate(invalid="ignore", divide="ignore"):
            cop: FloatArray = moment / total[:, None]
        cop[total <= 0] = np.nan
        return cop

    def sway_ellipse_area_mm2(self, t0_s: float, t1_s: float, stance_width_mm: float,
                              rate_hz: float = 1000.0) -> float:
        """The true 95 % ellipse area (mm²) of the combined CoP path from ``t0_s`` to ``t1_s``
        sampled at ``rate_hz`` (:meth:`standing_cop_mm`): ``pi * 5.991 * sqrt(det(cov))``, the
        large-sample prediction ellipse (chi-square quantile, 2 degrees of freedom)."""
        t = t0_s + np.arange(round((t1_s - t0_s) * rate_hz)) / rate_hz
        cop = self.standing_cop_mm(t, stance_width_mm)
        cop = cop[np.isfinite(cop).all(axis=1)]
        if cop.shape[0] < 3:
            raise ValueError("the feet carry nothing over most of that time")
        return float(math.pi * CHI2_95_2DOF * math.sqrt(np.linalg.det(np.cov(cop, rowvar=False))))

    # -- postures ------------------------------------------------------------------------------

    def _posture(self, t: FloatArray, want: _Want) -> _Posture:
        segments = self._segments
        if len(segments) == 1:
            return self._running_posture(segments[0], t, want)
        n = t.size
        widths = self._widths(want)
        left, right, posts = (np.empty((n, width)) for width in widths)
        for index, segment in enumerate(segments):
            lo = -math.inf if index == 0 else segment.start_s
            mask = (t >= lo) & (t < segment.end_s)
            if not mask.any():
                continue
            times = t[mask]
            posture = self._running_posture(segment, times, want)
            if index > 0:
                posture = self._blend_in(segments[index - 1], segment, times, posture, want)
            left[mask] = posture.left_sensor_n
            right[mask] = posture.right_sensor_n
            posts[mask] = posture.bar_post_n
        return _Posture(left, right, posts)

    def _widths(self, want: _Want) -> tuple[int, int, int]:
        return (self.feet["left"].sensor_count if want.left else 0,
                self.feet["right"].sensor_count if want.right else 0,
                4 if want.posts else 0)

    def _blend_in(self, previous: _Segment, segment: _Segment, times: FloatArray,
                  new: _Posture, want: _Want) -> _Posture:
        """Blend from where ``previous`` left off into ``new`` during the transition."""
        blending = times < segment.start_s + self.transition_s
        if not blending.any():
            return new
        tb = times[blending]
        old = self._running_posture(previous, tb, want)
        w = _smoothstep((tb - segment.start_s) / self.transition_s)[:, None]
        out = [array.copy() for array in (new.left_sensor_n, new.right_sensor_n, new.bar_post_n)]
        for target, before in zip(out, (old.left_sensor_n, old.right_sensor_n, old.bar_post_n),
                                  strict=True):
            target[blending] = (1.0 - w) * before + w * target[blending]
        return _Posture(*out)

    def _running_posture(self, segment: _Segment, t: FloatArray, want: _Want) -> _Posture:
        if segment.gait is not None:
            # Before the bout starts and after it ends, walking holds its mid-double-support pose.
            clamped = np.minimum(np.maximum(t, segment.gait.start_s), segment.end_s)
            return self._walking(segment.gait, clamped, want)
        if segment.activity == "standing":
            return self._standing(t, want)
        if segment.activity in ("standing_on_left", "standing_on_right"):
            b = self.balance
            bars = self.body_weight_n * b.standing_bar_fraction_bw * (1 + 0.1 * self._bar_wobble(t))
            on_prosthesis = segment.activity.endswith(self.prosthetic_side)
            share = np.full(t.size, 1.0 if on_prosthesis else 0.0)
            return self._quiet_posture(t, bars, share, want)
        if segment.activity == "sit_to_stand":
            return self._sit_to_stand(segment.start_s, t, want)
        if segment.activity == "off_rig":
            n = t.size
            sensors = {side: np.zeros((n, self.feet[side].sensor_count))
                       for side in ("left", "right") if want.side(side)}
            return self._assemble(n, sensors, np.zeros((n, 4)) if want.posts else _EMPTY_POSTS)
        return self._weight_shift(segment.start_s, t, want)

    def _rise_progress(self, start_s: float, t: FloatArray) -> FloatArray:
        """Sit-to-stand: 0 seated .. 1 standing at ``t``, cycles from the end of the blend."""
        p = self.sit_to_stand
        local = np.mod(t - (start_s + self.transition_s), p.cycle_s)
        rise0 = p.seated_s
        rise1 = rise0 + p.rise_s
        sit0 = rise1 + p.stand_s
        u = np.where(local < rise0, 0.0, np.where(
            local < rise1, (local - rise0) / p.rise_s,
            np.where(local < sit0, 1.0, 1.0 - (local - sit0) / p.sit_s)))
        u = np.where(t < start_s + self.transition_s, 0.0, u)
        return _unit(u)

    def _sit_to_stand(self, start_s: float, t: FloatArray, want: _Want) -> _Posture:
        seat, bars, share = self.sit_to_stand.fractions(self._rise_progress(start_s, t))
        bw = self.body_weight_n
        return self._quiet_posture(t, bw * bars, share, want, feet_n=bw * (1.0 - seat - bars))

    def _walking(self, gait: _GaitTimeline, t: FloatArray, want: _Want) -> _Posture:
        strides = gait.strides_until(float(t.max()))
        dip = self.gait.midstance_dip
        sensors = {}
        loads = {}
        for side, stances in ((self.prosthetic_side, strides.prosthetic),
                              (self.sound_side, strides.sound)):
            if not (want.posts or want.side(side)):
                continue
            load, progress = _stance_load(t, stances, dip)
            loads[side] = load
            if want.side(side):
                foot = self.feet[side]
                sensors[side] = foot.sensor_forces(load, foot.rollover_centre(progress))
        posts = _EMPTY_POSTS
        if want.posts:
            rear, front = self.bar_posts_mm
            span = front - rear
            travel_period_s = 4 * 0.25 * span / (
                self.gait.step_length_mm * self.gait.cadence_steps_per_min / 60.0)
            phase = 2 * np.pi * (t - gait.start_s) / travel_period_s + math.acos(0.4)
            hand_mm = rear + span * (0.5 - 0.25 * np.cos(phase))
            posts = self._bar_posts(loads["left"], loads["right"], hand_mm)
        return self._assemble(t.size, sensors, posts)

    def _standing(self, t: FloatArray, want: _Want) -> _Posture:
        b = self.balance
        bars = self.body_weight_n * b.standing_bar_fraction_bw * (1 + 0.1 * self._bar_wobble(t))
        share = b.standing_prosthetic_share + b.standing_share_wobble * self._share_wobble(t)
        return self._quiet_posture(t, bars, share, want)

    def _weight_shift(self, start_s: float, t: FloatArray, want: _Want) -> _Posture:
        b = self.balance
        bars = self.body_weight_n * b.shift_bar_fraction_bw * (1 + 0.1 * self._bar_wobble(t))
        share = b.shift_prosthetic_share_mean + b.shift_prosthetic_share_amplitude * np.sin(
            2 * np.pi * (t - start_s) / b.shift_period_s)
        responses = self._responses
        for index, (from_s, targets) in enumerate(responses):
            until = responses[index + 1][0] if index + 1 < len(responses) else math.inf
            chosen = (t >= from_s) & (t < until)
            if targets is not None and chosen.any():
                # The band's leg: prosthetic first, then sound, each for shift_period_s.
                share[chosen] = 0.5 + self.shift_amplitude_share(targets) * np.sin(
                    np.pi * (t[chosen] - start_s) / targets.shift_period_s)
        return self._quiet_posture(t, bars, share, want)

    def shift_amplitude_share(self, targets: TargetResponse) -> float:
        """Weight shifting to ``targets``: how far the prosthetic share of the feet's load swings
        from 0.5 (each way), so that the leg with the band peaks at the band's centre (feet
        carrying body weight less the mean bar support); 0.05-0.45."""
        feet_pct = 100.0 * (1.0 - self.balance.shift_bar_fraction_bw)
        return float(min(max(targets.centre_pct_bw / feet_pct - 0.5, 0.05), 0.45))

    def _quiet_posture(self, t: FloatArray, bars_n: FloatArray, prosthetic_share: FloatArray,
                       want: _Want, feet_n: FloatArray | None = None) -> _Posture:
        """Both feet down: the feet carry ``feet_n`` (default what the bars do not), split by
        ``prosthetic_share``."""
        explicit_bars = feet_n is not None
        if feet_n is None:
            feet_n = self.body_weight_n - bars_n
        p_load = feet_n * prosthetic_share
        loads = {self.prosthetic_side: p_load, self.sound_side: feet_n - p_load}
        sensors = {}
        for side in SIDES:
            if want.side(side):
                foot = self.feet[side]
                centre = foot.resting_centre(
                    self.balance.standing_cop_y_fraction,
                    self.balance.sway_mm * self._sway[f"{side}_x"](t),
                    self.balance.sway_mm * self._sway[f"{side}_y"](t))
                sensors[side] = foot.sensor_forces(loads[side], centre)
        posts = _EMPTY_POSTS
        if want.posts:
            rear, front = self.bar_posts_mm
            hand_mm = np.full(t.shape, rear + (front - rear) * self._standing_hand_fraction)
            posts = self._bar_posts(loads["left"], loads["right"], hand_mm,
                                    bars_n if explicit_bars else None)
        return self._assemble(t.size, sensors, posts)

    def _assemble(self, n: int, sensors: dict[str, FloatArray], posts: FloatArray) -> _Posture:
        """A posture with empty (n, 0) arrays for what was not asked for."""
        empty = np.empty((n, 0))
        return _Posture(sensors.get("left", empty), sensors.get("right", empty),
                        posts if posts.shape[0] == n else empty)

    def _bar_posts(self, left_load: FloatArray, right_load: FloatArray,
                   hand_mm: FloatArray, bars_n: FloatArray | None = None) -> FloatArray:
        """The rest of the body weight (or ``bars_n``) into the bars; each bar's force into its
        two posts.

        The hands lean a little harder on the side of the more loaded foot (``hand_lean``); the
        lever rule splits each bar's force between its rear and front post by the hand position.
        """
        bars = self.body_weight_n - left_load - right_load if bars_n is None else bars_n
        left_share = 0.5 + self.balance.hand_lean * (left_load - right_load) / self.body_weight_n
        left_bar = bars * left_share
        right_bar = bars - left_bar
        rear, front = self.bar_posts_mm
        front_share = (hand_mm - rear) / (front - rear)
        posts = np.empty((left_load.size, 4))
        posts[:, 0] = left_bar * front_share
        posts[:, 1] = left_bar - posts[:, 0]
        posts[:, 2] = right_bar * front_share
        posts[:, 3] = right_bar - posts[:, 2]
        return posts

    # -- derived quantities --------------------------------------------------------------------

    def _hand_position(self, front_post_n: FloatArray, bar_n: FloatArray) -> FloatArray:
        rear, front = self.bar_posts_mm
        with np.errstate(invalid="ignore", divide="ignore"):
            position: FloatArray = np.where(bar_n > 0, rear + (front - rear) * front_post_n / bar_n,
                                            np.nan)
        return position

    def _centroid(self, side: str, sensors_n: FloatArray, foot_n: FloatArray) -> FloatArray:
        loaded = foot_n > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            cop: FloatArray = (sensors_n @ self.feet[side].positions_mm) / foot_n[:, None]
        cop[~loaded] = np.nan
        return cop


def _stance_load(t: FloatArray, stances: _Stances, dip: float) -> tuple[FloatArray, FloatArray]:
    """Load (N) of one foot at times ``t`` and its stance progress (0 heel strike .. 1 toe off).

    Load rises from 0 at heel strike (a ramp) while the other foot unloads, holds the peak
    (with a small mid-stance dip) in single support, and falls to exactly 0 at toe off; 0 in
    swing.
    """
    j = np.maximum(np.searchsorted(stances.heel_strike, t, side="right") - 1, 0)
    hs, loaded, unloading, to = (stances.heel_strike[j], stances.loaded[j],
                                 stances.unloading[j], stances.toe_off[j])
    peak = stances.peak_n[j]
    in_stance = (t >= hs) & (t < to)
    # Straight edges: the load leaves 0 with a finite slope at heel strike and returns to 0 with
    # one at toe off, as real ground reaction forces do (an edge that starts flat would hide the
    # instant of contact below any sensor's resolution); one foot's rise and the other's fall
    # span the same double support, so together they never exceed the larger peak.
    loading_part = _unit((t - hs) / (loaded - hs))
    middle_part = 1.0 - dip * np.sin(np.pi * _unit((t - loaded) / (unloading - loaded)))
    unloading_part = 1.0 - _unit((t - unloading) / (to - unloading))
    shape = np.where(t < loaded, loading_part, np.where(t < unloading, middle_part,
                                                        unloading_part))
    load: FloatArray = np.where(in_stance, peak * shape, 0.0)
    return load, _unit((t - hs) / (to - hs))


def _check_activity(activity: str) -> None:
    if activity not in ACTIVITIES:
        raise ValueError(f"activity must be one of {ACTIVITIES}, got {activity!r}")
