"""Small wins the patient's screen celebrates: the first step on target, a personal best.

Computed on the server from the trial's step counter (:class:`gaitrig.rig.live.steps.StepCounter`),
so every screen shows the same encouragement at the same moment. A milestone stays in the live
message until the next one; screens show it for a few seconds after its ``id`` changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaitrig.rig.live.steps import StepCounter

#: A streak must be at least this long (prosthetic steps on target in a row) to count as a best.
BEST_STREAK_MIN = 3
#: Every this many steps on target is celebrated.
ROUND_COUNT = 10


@dataclass(slots=True)
class MilestoneTracker:
    """Watches one trial's step counter; ``previous_best_streak`` is the patient's best so far."""

    previous_best_streak: int = 0
    next_id: int = 1
    current: dict[str, Any] | None = None
    _on_target_seen: int = 0
    _best_seen: int = 0

    def update(self, steps: StepCounter, now_s: float) -> dict[str, Any] | None:
        """The newest milestone (a new one when the counter just reached one), or None."""
        new: tuple[str, str] | None = None
        if steps.on_target > self._on_target_seen:
            if self._on_target_seen == 0:
                new = ("first_on_target", "First step on target!")
            elif steps.on_target % ROUND_COUNT == 0:
                new = ("count", f"{steps.on_target} steps on target \u2013 great work!")
            self._on_target_seen = steps.on_target
        best = steps.best_streak
        if (best > self._best_seen and best >= BEST_STREAK_MIN
                and best > self.previous_best_streak):
            new = ("personal_best", f"New personal best: {best} good steps in a row!")
        self._best_seen = max(self._best_seen, best)
        if new is not None:
            kind, text = new
            self.current = {"id": self.next_id, "kind": kind, "text": text,
                            "at_s": round(now_s, 3), "steps_on_target": steps.on_target}
            self.next_id += 1
        return self.current
