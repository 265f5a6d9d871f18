"""Cold-start time of the numba kernels: compiling from scratch vs loading numba's disk cache."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

PROBE = ("import time; t0 = time.perf_counter(); import gaitrig.processing.pipeline as p; "
         "t1 = time.perf_counter(); p.warm_up(); t2 = time.perf_counter(); "
         "print(t1 - t0, t2 - t1)")


def warm_up_seconds(cache_dir: str) -> tuple[float, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cache_dir:
        import_s, cold_s = warm_up_seconds(cache_dir)  # empty cache: compile everything
        _, cached_s = warm_up_seconds(cache_dir)  # the same cache, now filled
    return {"import_s": import_s, "compile_s": cold_s, "cached_s": cached_s,
            "speedup": cold_s / cached_s}


def markdown(result: dict[str, float]) -> str:
    return ("| import gaitrig.processing.pipeline (s) | warm_up, empty cache (s) "
            "| warm_up, from cache (s) | ratio |\n|---:|---:|---:|---:|\n"
            f"| {result['import_s']:.2f} | {result['compile_s']:.2f} | {result['cached_s']:.2f} "
            f"| {result['speedup']:.0f}x |")
