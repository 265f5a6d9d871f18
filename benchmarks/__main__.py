"""Run the benchmarks and print their tables (markdown) with the command that produced them.

    python -m benchmarks            # everything
    python -m benchmarks kernels    # one of: kernels, compile, detector, recorder, records_scale,
    #                                       alarm_latency, live-path, e2e, rate, rate-one-core,
    #                                       soak (10 minutes)
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable
from typing import Any

from benchmarks import (
    alarm_latency,
    compile_time,
    detector,
    end_to_end,
    kernels,
    live_path,
    recorder,
    records_scale,
    soak,
)
from benchmarks.databases import bench_databases

SUITES: dict[str, tuple[str, Callable[[], str]]] = {
    "kernels": ("Processing pipeline throughput", lambda: kernels.markdown(kernels.run())),
    "compile": ("Numba cold start", lambda: compile_time.markdown(compile_time.run())),
    "alarm_latency": ("Safety-limit alarm, load crossing to patient page",
                      lambda: alarm_latency.markdown(alarm_latency.run())),
    "recorder": ("Recorder: loop stall and storage", lambda: _on_databases(recorder)),
    "records_scale": ("Clinic records at scale", lambda: _on_databases(records_scale)),
    "detector": ("Gait-event detector throughput",
                 lambda: detector.markdown(detector.run())),
    "live-path": ("Per-frame work on the host, before and after issue 8",
                  lambda: live_path.markdown(live_path.run())),
    "e2e": ("End to end: boards -> server -> websocket clients",
            lambda: end_to_end.loads_markdown(end_to_end.run_loads())),
    "rate": ("Highest insole rate without dropped frames",
             lambda: end_to_end.sweep_markdown(end_to_end.sweep())),
    "rate-one-core": ("Highest insole rate without dropped frames, server pinned to one core",
                      lambda: end_to_end.sweep_markdown(end_to_end.sweep(one_core=True))),
    "soak": ("Soak: 50 clients for 10 minutes", lambda: soak.markdown(soak.run())),
}


def _on_databases(suite: Any) -> str:
    """Run ``suite`` on a SQLite file and a fresh PostgreSQL database."""
    with bench_databases() as urls:
        return str(suite.markdown(suite.run(urls)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("suites", nargs="*", help=f"which of {', '.join(SUITES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from {list(SUITES)}")
    chosen = args.suites or list(SUITES)
    print(f"command: python -m benchmarks {' '.join(args.suites)}".rstrip())
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}\n")
    for name in chosen:
        title, produce = SUITES[name]
        print(f"## {title}\n\n{produce()}\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
