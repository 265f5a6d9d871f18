"""The block schedules the server used before issue 8, for the end-to-end benchmark's "before"
and "baseline" modes only: the product has one schedule (a block per live update,
``gaitrig.rig.live.controller.BlockSchedule``); this module runs ``rig`` with another in its
place, so that no benchmark branch lives in the controller.

    python -m benchmarks.block_schedules BLOCK_S serve [rig serve arguments]

``BLOCK_S`` > 0: blocks at least that long (s), each update published at most every live
interval; 0: a block for whatever arrived, as soon as any port has bytes.
"""

from __future__ import annotations

import sys
import threading
import time

from gaitrig.cli.main import main as rig_main
from gaitrig.drivers.serial_link import BoardLink, readable
from gaitrig.rig.live import controller


class FixedBlocks(controller.BlockSchedule):
    """Blocks at least ``block_s`` long (s), not waiting for fresh packets."""

    fresh = False
    every_block_published = False

    def __init__(self, interval_s: float, block_s: float) -> None:
        super().__init__(interval_s)
        self.block_s = block_s
        self.last_block_s = 0.0

    def wait(self, now_s: float, wake: threading.Event, links: list[BoardLink]) -> None:
        due_s = self.last_block_s + self.block_s
        if due_s > now_s:
            wake.wait(due_s - now_s)
        self.last_block_s = time.monotonic()


class PerArrival(controller.BlockSchedule):
    """A block for whatever arrived, as soon as any board's port has bytes."""

    fresh = False
    every_block_published = False

    def wait(self, now_s: float, wake: threading.Event, links: list[BoardLink]) -> None:
        readable(links, controller.IDLE_PUBLISH_S)


def schedule_for(block_s: float) -> type[controller.BlockSchedule]:
    """The schedule class to run the controller with (``block_s`` as in the module docstring)."""
    if block_s < 0 or block_s > 0.1:
        raise ValueError(f"BLOCK_S must be 0 to 0.1 s, got {block_s!r}")
    if block_s == 0:
        return PerArrival

    class Fixed(FixedBlocks):
        def __init__(self, interval_s: float) -> None:
            super().__init__(interval_s, block_s)
    return Fixed


def main(argv: list[str]) -> int:
    controller.BlockSchedule = schedule_for(float(argv[0]))  # type: ignore[misc]
    return rig_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
