"""Line-by-line profile of the live path's processing thread (line_profiler).

    python -m benchmarks.line_profile [SECONDS]

Runs the rig controller in this process on the virtual rig (insoles at 1000 Hz, bars at 80 Hz,
the patient walking) for ``SECONDS`` (default 10), with no web server (the state is encoded but
handed to nobody), and prints line_profiler's table for the functions the processing thread
spends its time in: reading the boards, processing a block, building and encoding the update.
py-spy (docs/benchmarks.md) says which thread and function; this says which lines.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from line_profiler import LineProfiler

from gaitrig.cli.sources import board_source
from gaitrig.drivers.serial_link import BoardLink
from gaitrig.rig.live import controller as controller_module
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.settings import Settings


def main(argv: list[str]) -> int:
    seconds = float(argv[0]) if argv else 10.0
    profiler = LineProfiler()
    # Wrapped where they are looked up: a wrapper turns the profiler on in the thread that calls
    # it (the processing thread), which enabling it here would not.
    for owner, name in ((RigController, "_read_boards"), (RigController, "_process"),
                        (RigController, "_publish"), (RigController, "device_status"),
                        (BoardLink, "poll"), (BoardLink, "_handle"), (controller_module,
                                                                      "live_message")):
        setattr(owner, name, profiler(getattr(owner, name)))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), simulate=True, simulate_activity="walking")
        controller = RigController(settings, source=board_source(settings))
        controller.start()
        try:
            if not controller.wait_until_streaming(30):
                raise RuntimeError("the virtual rig did not stream within 30 s")
            time.sleep(seconds)
        finally:
            controller.stop()
    profiler.print_stats(output_unit=1e-6, stripzeros=True)  # to standard output
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
