"""The gait-event detector: block invariance, compiled == plain Python, and robustness to noise,
baseline drift, a foot that never lifts and short excursions, on synthetic loads whose true
events are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from gaitrig.processing.gait_events import (
    HEEL_STRIKE,
    TOE_OFF,
    DetectorSettings,
    GaitEventDetector,
    contacts_from_events,
    detect_contacts,
    stance_subphases,
)
from gaitrig.processing.metrics import FootContacts

RATE_HZ = 500.0
BODY_WEIGHT_N = 700.0


def trapezoid_walk(seconds: float = 20.0, stride_s: float = 1.1, stance_fraction: float = 0.62,
                   edge_s: float = 0.03, peak: float = 600.0, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A foot's load: linear edges of ``edge_s`` from 0 at each true heel strike and to 0 at
    each true toe off, a plateau with a mid-stance dip; stride times jittered by 3 %."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    load = np.zeros_like(t)
    strikes, offs = [], []
    start = 0.35
    while start + stride_s * 1.2 < seconds:
        stride = stride_s * (1 + 0.03 * rng.standard_normal())
        off = start + stance_fraction * stride
        strikes.append(start)
        offs.append(off)
        rise = np.clip((t - start) / edge_s, 0, 1)
        fall = np.clip((off - t) / edge_s, 0, 1)
        middle = 1 - 0.3 * np.sin(np.pi * np.clip((t - start) / (off - start), 0, 1)) ** 2
        inside = (t >= start) & (t <= off)
        load[inside] = (peak * np.minimum(rise, fall) * middle)[inside]
        start += stride
    return t, load, np.array([strikes, offs])


def events_of(detector: GaitEventDetector, signal: np.ndarray, block: int) -> list[tuple]:
    found = []
    for i in range(0, signal.size, block):
        found += detector.feed(signal[i:i + block])
    return [(e.kind, e.time_s) for e in found + detector.finish()]


@pytest.mark.parametrize("body_weight_n", [BODY_WEIGHT_N, None])
def test_blocks_of_any_size_give_identical_events(body_weight_n: float | None) -> None:
    rng = np.random.default_rng(4)
    _, load, _ = trapezoid_walk()
    load = load + rng.normal(0, 5.0, load.size)
    reference = events_of(GaitEventDetector(RATE_HZ, body_weight_n), load, load.size)
    assert len(reference) > 20
    for block in (1, 7, 64):
        assert events_of(GaitEventDetector(RATE_HZ, body_weight_n), load, block) == reference


@pytest.mark.parametrize("body_weight_n", [BODY_WEIGHT_N, None])
def test_compiled_detector_equals_its_plain_python_form(body_weight_n: float | None) -> None:
    rng = np.random.default_rng(5)
    _, load, _ = trapezoid_walk(seconds=12)
    load = load + rng.normal(0, 8.0, load.size)
    fast = events_of(GaitEventDetector(RATE_HZ, body_weight_n), load, 97)
    plain = events_of(GaitEventDetector(RATE_HZ, body_weight_n, compiled=False), load, 97)
    assert len(fast) > 10
    assert fast == plain


def match_error_s(true: np.ndarray, found: np.ndarray) -> np.ndarray:
    """For each true time, the distance to the nearest detected one."""
    return np.array([np.min(np.abs(found - t)) for t in true])


@pytest.mark.parametrize("body_weight_n", [BODY_WEIGHT_N, None])
def test_events_are_found_on_time_despite_noise_and_drift(body_weight_n: float | None) -> None:
    rng = np.random.default_rng(6)
    t, load, (strikes, offs) = trapezoid_walk(seconds=30)
    drift = 40.0 * t / t[-1]  # the insole baseline creeps up by 40 N (~6 % BW)
    signal = load + drift + rng.normal(0, 6.0, load.size)
    contacts = detect_contacts(signal, RATE_HZ, body_weight_n)
    # Without body weight the first 2 s are the warm-up.
    keep = strikes > (2.5 if body_weight_n is None else 0.0)
    assert contacts.count == pytest.approx(keep.sum(), abs=1)
    hs_error = match_error_s(strikes[keep], contacts.heel_strike_s)
    to_error = match_error_s(offs[keep][:-1], contacts.toe_off_s)
    assert np.median(hs_error) < 0.006 and hs_error.max() < 0.015
    assert np.median(to_error) < 0.006 and to_error.max() < 0.015


def test_a_foot_that_never_lifts_gives_no_contact() -> None:
    rng = np.random.default_rng(7)
    standing = 350.0 + 20 * np.sin(np.arange(10_000) / 300) + rng.normal(0, 8, 10_000)
    assert detect_contacts(standing, RATE_HZ, BODY_WEIGHT_N).count == 0


def test_a_foot_that_stops_lifting_keeps_its_earlier_steps_only() -> None:
    _, load, (strikes, _) = trapezoid_walk(seconds=10)
    standing = np.full(int(8 * RATE_HZ), 300.0)
    last = int(strikes[-1] * RATE_HZ) + 10  # stand on from inside the last stance
    signal = np.concatenate([load[:last], standing])
    contacts = detect_contacts(signal, RATE_HZ, None)
    assert contacts.count == pytest.approx(np.sum(strikes[:-1] > 2.5), abs=1)
    assert contacts.toe_off_s[-1] < strikes[-1]


def test_a_signal_that_starts_in_stance_after_one_unloaded_sample_is_timed_as_the_truth() -> None:
    """A board whose first frame comes a row after the others: its foot reads 0 N for one row,
    then a stance already under way (the start of a trial, a resume after a pause). The jump into
    that stance is not a swing sample: every later contact is where it truly is."""
    _, load, (strikes, offs) = trapezoid_walk(seconds=12, edge_s=0.2)  # a walker's slow edges
    inside = int((strikes[0] + 0.3) * RATE_HZ)  # from inside the first stance
    signal = np.concatenate([[0.0], load[inside:]])
    start_s = inside / RATE_HZ - 1 / RATE_HZ
    contacts = detect_contacts(signal, RATE_HZ, BODY_WEIGHT_N, start_time_s=start_s)
    later = strikes[1:]
    assert contacts.count >= later.size - 1
    # The first contact is the jump (0 N to a stance); every one after it is on time.
    assert contacts.heel_strike_s[0] == pytest.approx(start_s, abs=2 / RATE_HZ)
    assert np.abs(match_error_s(later, contacts.heel_strike_s[1:])).max() < 0.006
    assert np.abs(match_error_s(offs[1:-1], contacts.toe_off_s[1:])).max() < 0.006


def test_short_excursions_are_not_steps() -> None:
    """Dips shorter than the minimum swing and bumps shorter than the minimum stance (a turn's
    shuffle, a heel bounce) do not make events."""
    signal = np.zeros(int(10 * RATE_HZ))
    signal[1000:1500] = 500.0  # one real contact (1 s)
    signal[1200:1230] = 0.0  # a 60 ms dip inside it
    signal[3000:3040] = 400.0  # an 80 ms bump in swing
    contacts = detect_contacts(signal, RATE_HZ, BODY_WEIGHT_N)
    assert contacts.count == 1
    assert contacts.heel_strike_s[0] == pytest.approx(2.0, abs=0.003)
    assert contacts.toe_off_s[0] == pytest.approx(3.0, abs=0.003)


def test_start_time_shifts_every_event() -> None:
    _, load, _ = trapezoid_walk(seconds=8)
    a = detect_contacts(load, RATE_HZ, BODY_WEIGHT_N)
    b = detect_contacts(load, RATE_HZ, BODY_WEIGHT_N, start_time_s=100.0)
    np.testing.assert_allclose(b.heel_strike_s - a.heel_strike_s, 100.0, atol=1e-9)
    np.testing.assert_allclose(b.toe_off_s - a.toe_off_s, 100.0, atol=1e-9)


def test_contacts_are_complete_pairs() -> None:
    from gaitrig.processing.gait_events import GaitEvent

    events = [GaitEvent(TOE_OFF, 0.5), GaitEvent(HEEL_STRIKE, 1.0), GaitEvent(TOE_OFF, 1.6),
              GaitEvent(HEEL_STRIKE, 2.1)]
    contacts = contacts_from_events(events)
    assert contacts.heel_strike_s.tolist() == [1.0] and contacts.toe_off_s.tolist() == [1.6]


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="sample_rate_hz"):
        GaitEventDetector(0.0)
    with pytest.raises(ValueError, match="body_weight_n"):
        GaitEventDetector(100.0, -5.0)
    with pytest.raises(ValueError, match="hysteresis"):
        DetectorSettings(on_fraction=0.1, off_fraction=0.2)


def test_subphases_from_heel_and_forefoot_loads() -> None:
    n = 2000
    heel = np.zeros(n)
    fore = np.zeros(n)
    heel[500:800] = 300.0  # heel loaded 1.0 .. 1.6 s
    fore[650:1000] = 300.0  # forefoot 1.3 .. 2.0 s
    contacts = FootContacts.of([1.0], [2.0])
    phases = stance_subphases(contacts, heel, fore, RATE_HZ, threshold_n=20.0)
    assert phases.foot_flat_s[0] == pytest.approx(1.3)
    assert phases.heel_off_s[0] == pytest.approx(1.6)


def test_a_turn_at_the_end_of_the_walkway() -> None:
    """A turn: the foot pivots (load drops to 40 % of the stance level and back without
    lifting), then takes two quick short steps (0.2 s swings, 0.3 s stances). The pivot is no
    step; the short steps are, on time; the walk before is unchanged."""
    _, load, (strikes, offs) = trapezoid_walk(seconds=10)
    end = int(offs[-1] * RATE_HZ) + int(0.3 * RATE_HZ)
    walk = load[:end]
    turn_t = np.arange(int(3.0 * RATE_HZ)) / RATE_HZ
    turn = np.full(turn_t.size, 550.0)
    turn[(turn_t > 0.4) & (turn_t < 0.9)] = 220.0  # the pivot: partial unloading
    for start in (1.5, 2.0):  # two quick steps: swing 0.2 s, then stance
        turn[(turn_t >= start) & (turn_t < start + 0.2)] = 0.0
    signal = np.concatenate([walk, turn])
    contacts = detect_contacts(signal, RATE_HZ, BODY_WEIGHT_N)
    turn_start = end / RATE_HZ
    before = contacts.heel_strike_s < turn_start - 0.05
    assert before.sum() == len(strikes)
    np.testing.assert_allclose(contacts.heel_strike_s[before], strikes, atol=0.004)
    # the stance that began with the turn ends at the first quick step, then one short contact
    turn_offs = contacts.toe_off_s[contacts.toe_off_s > turn_start]
    np.testing.assert_allclose(turn_offs[:2], turn_start + np.array([1.5, 2.0]), atol=0.004)
