"""Gait events (heel strike, toe off) of one foot from its load signal, block by block.

One :class:`GaitEventDetector` per foot. It is fed the foot's load one block at a time (any block
size) and keeps its state between blocks, so that feeding a signal in blocks of 1, 7, 64 samples
or all at once gives exactly the same events; :meth:`GaitEventDetector.finish` ends the signal.
:func:`detect_contacts` runs it over a whole recording and returns the complete contacts.

The method (``docs/accuracy.md`` reports how well it does on real recordings):

* **Levels.** The foot's *swing level* (what the sensor reads with the foot in the air) is an
  exponential mean over swings of each swing's minimum (raw signals) or mean (calibrated loads),
  updated at every heel strike, so it follows a slow baseline drift; the *stance level* is the
  same over each stance's peak. With the patient's body weight known (calibrated insoles, N),
  the thresholds are fractions of body weight above the swing level: heel strike at
  ``on_fraction_bw``, toe off at ``off_fraction_bw``. Without it (raw, arbitrary-unit signals),
  they are fractions of the signal's own range: heel strike at ``on_fraction`` of the way from
  the swing level to the stance level of recent steps, toe off at ``off_fraction`` of the way to
  the peak of the stance under way. Until the first levels are known (the first ``warmup_s`` of
  a signal without body weight), the running minimum and maximum stand in for them and no event
  is reported.
* **Hysteresis.** A heel strike needs the load to rise above the heel-strike threshold; the foot
  is then in stance until the load falls below the (lower) toe-off threshold.
* **Minimum durations.** A crossing is only a candidate: a heel strike is confirmed when the load
  does not fall back below the toe-off threshold within ``min_stance_s``, a toe off when it does
  not rise back above the heel-strike threshold within ``min_swing_s``. Shorter excursions
  (noise, a bounce of the heel, a shuffle during a turn) are ignored; a foot that never lifts
  stays in one stance and produces no events.
* **Timing.** A confirmed event is timed at the foot of its edge: where the load is
  ``timing_fraction_bw`` of body weight (or ``timing_fraction`` of the range) above the swing's
  own level, looked for at most ``timing_window_s`` before a heel-strike crossing or after a
  toe-off one, interpolated linearly between the two samples around it (s, ``start_time_s +
  index / sample_rate_hz``). Events are reported when confirmed, i.e. up to ``min_stance_s``
  (or ``min_swing_s``) after they happened.

:func:`stance_subphases` splits each contact into heel contact, foot flat and heel off where the
layout has heel and forefoot sensors.

No I/O, no clocks: times come from the sample index and the sample rate only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from gaitrig.processing.metrics import FootContacts

__all__ = [
    "HEEL_STRIKE",
    "TOE_OFF",
    "DetectorSettings",
    "GaitEvent",
    "GaitEventDetector",
    "StanceSubphases",
    "contacts_from_events",
    "detect_contacts",
    "detect_events",
    "stance_subphases",
    "warm_up",
]

FloatArray = npt.NDArray[np.float64]
EventKind = Literal["heel_strike", "toe_off"]
HEEL_STRIKE: EventKind = "heel_strike"
TOE_OFF: EventKind = "toe_off"


@dataclass(frozen=True)
class DetectorSettings:
    """The detector's parameters (fractions, s). The defaults are stated in docs/accuracy.md."""

    #: Thresholds above the swing level as fractions of body weight (with body weight known).
    on_fraction_bw: float = 0.04
    off_fraction_bw: float = 0.02
    #: Thresholds as fractions of the signal's own range (without body weight).
    on_fraction: float = 0.30
    off_fraction: float = 0.10
    #: Shortest stance and swing a person makes (s): shorter excursions are not events.
    min_stance_s: float = 0.15
    min_swing_s: float = 0.10
    #: Weight of the newest step in the exponential means of the swing and stance levels.
    level_weight: float = 0.3
    #: Without body weight: how long the running min/max stand in for the levels (s).
    warmup_s: float = 2.0
    #: Event timing: an event is detected at the thresholds above, then timed where the load
    #: is this far above the swing's minimum (fraction of body weight / of the range), looked
    #: for at most ``timing_window_s`` before a heel-strike crossing or after a toe-off one.
    timing_fraction_bw: float = 0.01
    timing_fraction: float = 0.05
    timing_window_s: float = 0.05

    def __post_init__(self) -> None:
        for name in ("on_fraction_bw", "off_fraction_bw", "on_fraction", "off_fraction",
                     "min_stance_s", "min_swing_s", "level_weight", "warmup_s",
                     "timing_fraction_bw", "timing_fraction", "timing_window_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if not 0.0 < self.off_fraction_bw < self.on_fraction_bw:
            raise ValueError("need 0 < off_fraction_bw < on_fraction_bw (hysteresis)")
        if not 0.0 < self.off_fraction < self.on_fraction < 1.0:
            raise ValueError("need 0 < off_fraction < on_fraction < 1 (hysteresis)")
        if not 0.0 < self.level_weight <= 1.0:
            raise ValueError("level_weight must be in (0, 1]")


class GaitEvent(NamedTuple):
    """A detected event of one foot: ``"heel_strike"`` or ``"toe_off"`` at ``time_s`` (s)."""

    kind: EventKind
    time_s: float


# -- the state machine (numba: ``_feed_compiled``; ``_feed`` is the same code in plain Python) --

# Slots of the state vector.
_PHASE = 0  # -1 not yet known, 0 swing, 1 stance
_COUNT = 1  # samples seen so far
_PREVIOUS = 2  # the previous sample
_SWING_LEVEL = 3  # exponential mean of swing minima
_STANCE_LEVEL = 4  # exponential mean of stance peaks
_RUN_MIN = 5  # running minimum and maximum (warm-up stand-ins)
_RUN_MAX = 6
_PENDING = 7  # 0 none, 1 a heel strike candidate, 2 a toe off candidate
_PENDING_AT = 8  # its crossing, as a fractional sample index
_PHASE_EXTREME = 9  # minimum of the swing / peak of the stance under way
_CANDIDATE_EXTREME = 10  # same, since the pending crossing
_LEVELS_KNOWN = 11  # 1 once the swing and stance levels come from steps
_LAST_EVENT = 12  # fractional sample index of the last event reported
_SWING_SUM = 13  # sum and count of the samples of the swing under way (its mean)
_SWING_COUNT = 14
_STATE_SIZE = 15  # followed by the ring buffer of the last samples

# Slots of the parameter vector.
_P_BODY_WEIGHT = 0  # N, or 0 for "unknown"
_P_ON = 1
_P_OFF = 2
_P_MIN_STANCE = 3  # samples
_P_MIN_SWING = 4  # samples
_P_WEIGHT = 5
_P_WARMUP = 6  # samples
_P_TIMING = 7  # the timing level: fraction of body weight or of the range above the swing level
_P_WINDOW = 8  # samples: how far the timing level is looked for from the detection crossing
_P_RING = 9  # samples in the ring buffer
_PARAMETER_SIZE = 10


def _feed(signal: FloatArray, state: FloatArray, parameters: FloatArray,
          out_kind: npt.NDArray[np.int64], out_index: FloatArray) -> int:
    """Run the detector over ``signal``; write events (kind 1 heel strike, 2 toe off; their
    fractional sample index) into the outputs and return how many.

    Compiled with numba as :data:`_feed_compiled`; this plain-Python form is the reference the
    tests hold the compiled one to.
    """
    found = 0
    weight = parameters[_P_WEIGHT]
    body_weight = parameters[_P_BODY_WEIGHT]
    with_body_weight = body_weight > 0.0
    ring = parameters[_P_RING]
    window = parameters[_P_WINDOW]
    for j in range(signal.shape[0]):
        x = signal[j]
        index = state[_COUNT]
        state[_COUNT] = index + 1.0
        if not math.isfinite(x):
            x = state[_PREVIOUS]  # a missing sample holds the last value
            if index == 0.0 or not math.isfinite(x):
                continue
        previous = state[_PREVIOUS] if math.isfinite(state[_RUN_MIN]) else x
        state[_PREVIOUS] = x
        state[_STATE_SIZE + int(index % ring)] = x
        if not math.isfinite(state[_RUN_MIN]):
            state[_RUN_MIN] = x
            state[_RUN_MAX] = x
        state[_RUN_MIN] = min(state[_RUN_MIN], x)
        state[_RUN_MAX] = max(state[_RUN_MAX], x)

        # The thresholds now (signal units).
        if state[_LEVELS_KNOWN] > 0.0 or with_body_weight:
            low, high = state[_SWING_LEVEL], state[_STANCE_LEVEL]
        else:
            low, high = state[_RUN_MIN], state[_RUN_MAX]
        if with_body_weight:
            on = low + parameters[_P_ON] * body_weight
            off = low + parameters[_P_OFF] * body_weight
        else:
            on = low + parameters[_P_ON] * (high - low)
            peak = high
            if state[_PHASE] == 1.0 and state[_LEVELS_KNOWN] > 0.0:
                peak = state[_PHASE_EXTREME]  # toe off relative to this stance's own peak
            off = low + parameters[_P_OFF] * (peak - low)

        if state[_PHASE] < 0.0:  # not yet known: with body weight at once, else after warm-up
            if not with_body_weight and (index + 1.0 < parameters[_P_WARMUP]
                                         or state[_RUN_MAX] <= state[_RUN_MIN]):
                continue
            state[_PHASE] = 1.0 if x >= 0.5 * (on + off) else 0.0
            state[_PHASE_EXTREME] = x
            continue

        stance = state[_PHASE] == 1.0
        extreme = state[_PHASE_EXTREME]
        state[_PHASE_EXTREME] = max(extreme, x) if stance else min(extreme, x)
        pending = state[_PENDING]
        if pending == 0.0:
            level = off if stance else on
            if (stance and x < off <= previous) or (not stance and x > on >= previous):
                state[_PENDING] = 2.0 if stance else 1.0
                # the crossing, interpolated between the samples around it
                at = index
                if x != previous:
                    at = index - 1.0 + min(max((level - previous) / (x - previous), 0.0), 1.0)
                state[_PENDING_AT] = at
                state[_CANDIDATE_EXTREME] = x
            elif not stance:  # a swing sample (not the one that crosses into stance: a load
                state[_SWING_SUM] += x  # that jumps from 0 N to a stance would bias the level)
                state[_SWING_COUNT] += 1.0
            continue

        # A candidate: cancelled when the load crosses back (too short to be a stance or a
        # swing), confirmed once it has lasted its minimum duration.
        heel_strike = pending == 1.0
        if (x < off) if heel_strike else (x > on):
            state[_PENDING] = 0.0
            continue
        candidate = state[_CANDIDATE_EXTREME]
        state[_CANDIDATE_EXTREME] = max(candidate, x) if heel_strike else min(candidate, x)
        if index - state[_PENDING_AT] < parameters[_P_MIN_STANCE if heel_strike
                                                   else _P_MIN_SWING]:
            continue
        if heel_strike:
            # Timing: back from the crossing to where the load left the swing's minimum.
            # With body weight (calibrated N, noise of a few N) the swing's mean; without (raw
            # signals, smooth) its minimum.
            swing_minimum = state[_PHASE_EXTREME]
            if with_body_weight and state[_SWING_COUNT] > 0.0:
                swing_minimum = state[_SWING_SUM] / state[_SWING_COUNT]
            timing = swing_minimum + parameters[_P_TIMING] * (
                body_weight if with_body_weight else high - low)
            at = state[_PENDING_AT]
            k = math.floor(at)
            oldest = max(at - window, index - ring + 1.0, 0.0)
            while k >= oldest:
                value = state[_STATE_SIZE + int(k % ring)]
                if value <= timing:
                    after = state[_STATE_SIZE + int((k + 1.0) % ring)]
                    if after > value:
                        at = k + min(max((timing - value) / (after - value), 0.0), 1.0)
                    break
                k -= 1.0
            state[_PENDING_AT] = max(at, state[_LAST_EVENT])
            if state[_LEVELS_KNOWN] > 0.0 or with_body_weight:  # the swing that ended
                state[_SWING_LEVEL] += weight * (swing_minimum - state[_SWING_LEVEL])
            state[_PHASE] = 1.0
            out_kind[found] = 1
        else:  # a toe off
            stance_peak = state[_PHASE_EXTREME]
            # Timing: on from the crossing to where the load reaches the swing's minimum.
            base = state[_SWING_LEVEL] if with_body_weight else state[_CANDIDATE_EXTREME]
            timing = base + parameters[_P_TIMING] * (
                body_weight if with_body_weight else high - low)
            at = state[_PENDING_AT]
            k = math.ceil(at)
            while k <= min(at + window, index):
                value = state[_STATE_SIZE + int(k % ring)]
                if value <= timing:
                    before = state[_STATE_SIZE + int((k - 1.0) % ring)]
                    if before > value and k - 1.0 >= at - 1.0:
                        at = max(k - 1.0 + min(max((before - timing) / (before - value), 0.0),
                                               1.0), at)
                    break
                k += 1.0
            state[_PENDING_AT] = at
            if with_body_weight:
                pass  # thresholds are fractions of body weight: no stance level needed
            elif state[_LEVELS_KNOWN] > 0.0:
                state[_STANCE_LEVEL] += weight * (stance_peak - state[_STANCE_LEVEL])
            else:  # the first complete stance: the levels come from steps from now on
                state[_SWING_LEVEL] = state[_RUN_MIN]
                state[_STANCE_LEVEL] = stance_peak
                state[_LEVELS_KNOWN] = 1.0
            state[_PHASE] = 0.0
            state[_SWING_SUM] = 0.0
            state[_SWING_COUNT] = 0.0
            out_kind[found] = 2
        state[_PHASE_EXTREME] = state[_CANDIDATE_EXTREME]
        out_index[found] = state[_PENDING_AT]
        state[_LAST_EVENT] = state[_PENDING_AT]
        state[_PENDING] = 0.0
        found += 1
    return found


_feed_compiled = numba.njit(cache=True)(_feed)


class GaitEventDetector:
    """Heel strikes and toe offs of one foot, fed block by block (see the module docstring).

    ``sample_rate_hz``: samples per second of the load signal; ``body_weight_n``: the patient's
    body weight (N) when the signal is a calibrated load in N, else None (any units);
    ``start_time_s``: the time of the first sample fed (s).
    """

    def __init__(self, sample_rate_hz: float, body_weight_n: float | None = None, *,
                 start_time_s: float = 0.0, settings: DetectorSettings | None = None,
                 compiled: bool = True) -> None:
        if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0.0):
            raise ValueError(f"sample_rate_hz must be a positive number, got {sample_rate_hz!r}")
        if body_weight_n is not None and not (math.isfinite(body_weight_n)
                                              and body_weight_n > 0.0):
            raise ValueError(f"body_weight_n must be a positive number (N) or None, got "
                             f"{body_weight_n!r}")
        if not math.isfinite(start_time_s):
            raise ValueError(f"start_time_s must be finite, got {start_time_s!r}")
        self.settings = settings or DetectorSettings()
        self.sample_rate_hz = float(sample_rate_hz)
        self.body_weight_n = body_weight_n
        self.start_time_s = float(start_time_s)
        self._compiled = compiled
        s = self.settings
        with_bw = body_weight_n is not None
        self._parameters = np.array([
            body_weight_n or 0.0,
            s.on_fraction_bw if with_bw else s.on_fraction,
            s.off_fraction_bw if with_bw else s.off_fraction,
            s.min_stance_s * sample_rate_hz, s.min_swing_s * sample_rate_hz, s.level_weight,
            s.warmup_s * sample_rate_hz,
            s.timing_fraction_bw if with_bw else s.timing_fraction,
            s.timing_window_s * sample_rate_hz, 0.0], dtype=np.float64)
        ring = math.ceil((max(s.min_stance_s, s.min_swing_s) + s.timing_window_s)
                         * sample_rate_hz) + 4
        self._parameters[_P_RING] = ring
        assert self._parameters.shape[0] == _PARAMETER_SIZE
        self._state = np.zeros(_STATE_SIZE + ring, dtype=np.float64)
        self._state[_PHASE] = -1.0
        self._state[_RUN_MIN] = math.nan
        self._state[_RUN_MAX] = math.nan
        self._kinds = np.zeros(64, dtype=np.int64)
        self._indices = np.zeros(64, dtype=np.float64)

    @property
    def samples_seen(self) -> int:
        return int(self._state[_COUNT])

    @property
    def in_stance(self) -> bool | None:
        """True in stance, False in swing, None before the detector knows."""
        phase = self._state[_PHASE]
        return None if phase < 0.0 else bool(phase == 1.0)

    def feed(self, force_n: npt.ArrayLike) -> list[GaitEvent]:
        """The events confirmed by this block of samples (in time order)."""
        signal = np.ascontiguousarray(force_n, dtype=np.float64).reshape(-1)
        n = signal.shape[0]
        if n > self._kinds.shape[0]:  # outputs reused between blocks: one event per sample at most
            self._kinds = np.zeros(n, dtype=np.int64)
            self._indices = np.zeros(n, dtype=np.float64)
        run = _feed_compiled if self._compiled else _feed
        found = int(run(signal, self._state, self._parameters, self._kinds, self._indices))
        if not found:
            return []
        rate, start = self.sample_rate_hz, self.start_time_s
        return [GaitEvent(HEEL_STRIKE if self._kinds[i] == 1 else TOE_OFF,
                          start + float(self._indices[i]) / rate) for i in range(found)]

    def finish(self) -> list[GaitEvent]:
        """The end of the signal: a crossing still waiting for its minimum duration was not
        contradicted before the end, so it is reported now. Feed nothing after this."""
        state = self._state
        pending = state[_PENDING]
        if pending == 0.0:
            return []
        state[_PENDING] = 0.0
        state[_PHASE] = 1.0 if pending == 1.0 else 0.0
        return [GaitEvent(HEEL_STRIKE if pending == 1.0 else TOE_OFF,
                          self.start_time_s + float(state[_PENDING_AT]) / self.sample_rate_hz)]


def detect_events(force_n: npt.ArrayLike, sample_rate_hz: float,
                  body_weight_n: float | None = None, start_time_s: float = 0.0,
                  settings: DetectorSettings | None = None) -> list[GaitEvent]:
    """Every event of one foot's whole load signal (``force_n``, (n,))."""
    detector = GaitEventDetector(sample_rate_hz, body_weight_n, start_time_s=start_time_s,
                                 settings=settings)
    return detector.feed(force_n) + detector.finish()


def contacts_from_events(events: list[GaitEvent]) -> FootContacts:
    """Complete contacts (a heel strike followed by a toe off) from one foot's events."""
    strikes: list[float] = []
    offs: list[float] = []
    strike: float | None = None
    for event in events:
        if event.kind == HEEL_STRIKE:
            strike = event.time_s
        elif strike is not None:
            strikes.append(strike)
            offs.append(event.time_s)
            strike = None
    return FootContacts.of(strikes, offs)


def detect_contacts(force_n: npt.NDArray[np.float64], sample_rate_hz: float,
                    body_weight_n: float | None = None,
                    start_time_s: float = 0.0) -> FootContacts:
    """One foot's complete ground contacts (heel strike and toe off times, s) in its load signal
    ``force_n`` (n,) sampled at ``sample_rate_hz``, the first sample at ``start_time_s``.

    ``body_weight_n`` (N) when ``force_n`` is a calibrated load in N; None for a signal in
    arbitrary units (thresholds from the signal's own range).
    """
    return contacts_from_events(detect_events(force_n, sample_rate_hz, body_weight_n,
                                              start_time_s))


# -- sub-phases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StanceSubphases:
    """Per contact (s): heel contact from heel strike to ``foot_flat_s`` (the forefoot takes
    load), foot flat until ``heel_off_s`` (the heel unloads), heel off until toe off. NaN where
    the forefoot never loads or the heel never does."""

    heel_strike_s: FloatArray
    foot_flat_s: FloatArray
    heel_off_s: FloatArray
    toe_off_s: FloatArray


def stance_subphases(contacts: FootContacts, heel_n: npt.ArrayLike, forefoot_n: npt.ArrayLike,
                     sample_rate_hz: float, threshold_n: float,
                     start_time_s: float = 0.0) -> StanceSubphases:
    """Split each contact by the loads of the heel sensors and of the forefoot sensors (N, (n,)
    each, summed over the region's sensors): foot flat is the first sample of the contact with
    the forefoot above ``threshold_n``, heel off the last with the heel above it, plus one
    sample. Needs a layout with both regions (``InsoleLayout.region_channels``)."""
    heel = np.asarray(heel_n, dtype=np.float64).reshape(-1)
    forefoot = np.asarray(forefoot_n, dtype=np.float64).reshape(-1)
    if heel.shape != forefoot.shape:
        raise ValueError("heel_n and forefoot_n need the same number of samples")
    if not (math.isfinite(threshold_n) and threshold_n >= 0.0):
        raise ValueError(f"threshold_n must be a non-negative number (N), got {threshold_n!r}")
    n = heel.shape[0]
    flat = np.full(contacts.count, math.nan)
    heel_off = np.full(contacts.count, math.nan)
    for i in range(contacts.count):
        first = max(math.ceil((contacts.heel_strike_s[i] - start_time_s) * sample_rate_hz), 0)
        last = min(math.floor((contacts.toe_off_s[i] - start_time_s) * sample_rate_hz), n - 1)
        if last < first:
            continue
        fore = np.flatnonzero(forefoot[first:last + 1] > threshold_n)
        back = np.flatnonzero(heel[first:last + 1] > threshold_n)
        if fore.size:
            flat[i] = start_time_s + (first + fore[0]) / sample_rate_hz
        if back.size:
            heel_off[i] = start_time_s + (first + back[-1] + 1) / sample_rate_hz
    return StanceSubphases(contacts.heel_strike_s.copy(), flat, heel_off,
                           contacts.toe_off_s.copy())


def warm_up() -> None:
    """Compile the detector (or load it from numba's cache) by running it on a tiny signal."""
    for body_weight_n in (None, 700.0):
        detector = GaitEventDetector(100.0, body_weight_n, settings=DetectorSettings(
            warmup_s=0.0))
        detector.feed(np.array([0.0, 500.0, 0.0]))
