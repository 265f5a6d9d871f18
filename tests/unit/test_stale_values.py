"""Issue 13: alarms never rest on a held value (rig.targets,
gaitrig.rig.live.controller.fresh_only)."""

from __future__ import annotations

import numpy as np

from gaitrig.rig.live.alarms import TargetMonitor
from gaitrig.rig.live.controller import fresh_only
from gaitrig.rig.live.timeline import STALE_AFTER_S, FrameCollector
from gaitrig.rig.model import Exercise, Targets


def monitor() -> TargetMonitor:
    return TargetMonitor("left", Exercise.WALKING,
                         Targets(40, 50, limit_pct_bw=60, max_hand_support_pct_bw=20))


def test_no_data_ends_an_alarm_and_starts_none() -> None:
    m = monitor()
    t = np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    over = np.full(6, 70.0)
    hands = np.full(6, 30.0)
    started = m.update(t, over, hands)
    assert {a.kind for a in started} == {"over_limit", "hand_support"}
    nan = np.full(6, np.nan)
    assert m.update(t + 0.06, nan, nan) == []  # the boards went stale
    assert m.active() == []
    assert all(a.end_s is not None and abs(a.end_s - 0.06) < 1e-9 for a in m.alarms)
    assert m.update(t + 0.12, nan, nan) == []  # and no alarm starts from no data
    assert m.active() == []


def test_the_prosthetic_rows_of_a_stale_insole_are_no_data_to_the_alarms() -> None:
    """The left (prosthetic) insole stops; the merge holds its last load of 70 % BW (over the
    limit) on the right insole's timeline. Only its fresh rows may raise the alarm."""
    c = FrameCollector(channels={"insole_left": 1, "insole_right": 1, "bars": 1},
                       idle_counts={role: np.zeros(1, dtype=np.int64)
                                    for role in ("insole_left", "insole_right", "bars")})
    c.add("insole_left", 0.0, 0, 0, (70,))
    c.add("bars", 0.0, 0, 0, (0,))
    for i in range(60):  # right insole every 10 ms for 0.6 s
        c.add("insole_right", 0.01 * i, i, 0, (30,))
    block = c.take_block()
    assert block is not None
    held = block.counts["insole_left"][:, 0].astype(float)  # 70 on every row: held
    assert (held == 70).all()
    fresh = fresh_only(held, block, "insole_left")
    stale = block.host_time_s > STALE_AFTER_S + 1e-9
    assert np.isnan(fresh[stale]).all() and (fresh[~stale] == 70).all()
    m = monitor()
    (alarm,) = m.update(block.host_time_s, fresh, np.zeros(block.rows))
    assert alarm.kind == "over_limit" and m.active() == []  # ended with the signal
    assert alarm.end_s is not None and abs(alarm.end_s - 0.21) < 1e-9
