"""Merging the boards onto the insole timeline."""

from __future__ import annotations

import numpy as np

from rig.timeline import FrameCollector


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
