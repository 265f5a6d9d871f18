"""Merging the boards onto the insole timeline."""

from __future__ import annotations

import numpy as np

from gaitrig.rig.live.timeline import FrameCollector


def collector() -> FrameCollector:
    return FrameCollector(channels={"insole_left": 2, "insole_right": 2, "bars": 1},
                          idle_counts={"insole_left": np.zeros(2, dtype=np.int64),
                                       "insole_right": np.zeros(2, dtype=np.int64),
                                       "bars": np.array([-7])})


def test_bars_are_held_at_their_newest_sample_at_or_before_each_row() -> None:
    c = collector()
    for i in range(5):  # left insole at 1 kHz: t = 0.000 .. 0.004 s
        c.add("insole_left", 0.001 * i, i, 1000 * i, (i, 10 * i))
    c.add("insole_right", 0.0025, 0, 0, (5, 6))
    c.add("bars", 0.0015, 0, 0, (100,))
    block = c.take_block()
    assert block is not None and block.rows == 5
    np.testing.assert_array_equal(block.counts["insole_left"][:, 1], [0, 10, 20, 30, 40])
    # before the bars' first sample the idle counts (no load), from t = 1.5 ms the new value
    np.testing.assert_array_equal(block.counts["bars"][:, 0], [-7, -7, 100, 100, 100])
    np.testing.assert_array_equal(block.counts["insole_right"][:, 0], [0, 0, 0, 5, 5])
    # every frame is kept as it came, for the recorder
    assert len(block.raw["insole_left"]) == 5 and len(block.raw["bars"]) == 1
    np.testing.assert_array_equal(block.raw["insole_right"].counts, [[5, 6]])
    assert block.newest_seq == {"insole_left": 4, "insole_right": 0, "bars": 0}


def test_the_hold_carries_over_to_the_next_block_and_bad_frames_are_dropped() -> None:
    c = collector()
    c.add("bars", 0.0, 0, 0, (55,))
    c.add("insole_left", 0.001, 0, 0, (1, 1))
    c.take_block()
    c.add("insole_left", 0.002, 1, 1000, (2, 2))
    c.add("insole_left", 0.003, 2, 2000, (3, 3, 3))  # wrong channel count: dropped
    block = c.take_block()
    assert block is not None and block.rows == 1
    assert block.counts["bars"][0, 0] == 55
    assert c.take_block() is None


def test_each_held_value_knows_its_age_so_a_silent_board_is_not_live() -> None:
    """Issue 13: the right insole stops at t = 0.1 s while the left goes on; the merge still
    holds its last counts, but says how old they are on every row."""
    c = collector()
    c.add("insole_right", 0.1, 0, 0, (5, 6))
    c.add("bars", 0.05, 0, 0, (100,))
    for i in range(3):
        c.add("insole_left", 0.1 + 0.1 * i, i, 0, (i, i))
    block = c.take_block()
    assert block is not None
    np.testing.assert_allclose(block.sample_age_s["insole_left"], [0, 0, 0])
    np.testing.assert_allclose(block.sample_age_s["insole_right"], [0.0, 0.1, 0.2])
    np.testing.assert_allclose(block.sample_age_s["bars"], [0.05, 0.15, 0.25])
    newest = c.newest_sample_time_s
    assert newest.keys() == {"insole_left", "insole_right", "bars"}
    np.testing.assert_allclose([newest["insole_left"], newest["insole_right"], newest["bars"]],
                               [0.3, 0.1, 0.05])
    # the next block: nothing more from the right insole, its held value keeps ageing
    c.add("insole_left", 0.4, 3, 0, (3, 3))
    block = c.take_block()
    assert block is not None
    np.testing.assert_allclose(block.sample_age_s["insole_right"], [0.3])
    np.testing.assert_array_equal(block.counts["insole_right"], [[5, 6]])  # held, but 0.3 s old
    # a board that never sent anything: infinitely old (idle counts are no measurement)
    fresh = collector()
    fresh.add("insole_left", 1.0, 0, 0, (1, 1))
    block = fresh.take_block()
    assert block is not None and np.isinf(block.sample_age_s["bars"]).all()
    assert "bars" not in fresh.newest_sample_time_s
