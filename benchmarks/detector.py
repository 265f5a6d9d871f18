"""Samples per second of the gait-event detector: the numba state machine vs the same code in
plain Python (``compiled=False``), in the same run, fed in blocks of 1, 10, 100 and 1000
samples of a walking foot's load (both feet of a 1 kHz rig are two detectors)."""

from __future__ import annotations

import time

import numpy as np

from gaitrig.processing.gait_events import GaitEventDetector, warm_up

BLOCK_SIZES = (1, 10, 100, 1000)
RATE_HZ = 1000.0
BODY_WEIGHT_N = 735.0


def walking_load(seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    """A foot's load (N): 1.1 s strides, 62 % stance, 30 ms edges, sensor noise."""
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    phase = (t % 1.1) / 1.1
    load = np.clip(np.minimum(phase, 0.62 - phase) / 0.03, 0.0, 1.0) * 600.0
    return load + np.random.default_rng(seed).normal(0.0, 4.0, t.size)


def samples_per_second(compiled: bool, signal: np.ndarray, block: int, min_time_s: float
                       ) -> float:
    """Feed ``signal`` in blocks until ``min_time_s`` has passed."""
    done, elapsed = 0, 0.0
    start = time.perf_counter()
    while elapsed < min_time_s:
        detector = GaitEventDetector(RATE_HZ, BODY_WEIGHT_N, compiled=compiled)
        for i in range(0, signal.size, block):
            detector.feed(signal[i:i + block])
            done += min(block, signal.size - i)
            if done % 4096 < block:  # check the clock now and then, not per block
                elapsed = time.perf_counter() - start
                if elapsed >= min_time_s:
                    break
        elapsed = time.perf_counter() - start
    return done / elapsed


def run(min_time_s: float = 0.5) -> list[dict[str, float]]:
    warm_up()
    signal = walking_load()
    # Both forms must find the same events before their speeds mean anything.
    fast = GaitEventDetector(RATE_HZ, BODY_WEIGHT_N).feed(signal)
    plain = GaitEventDetector(RATE_HZ, BODY_WEIGHT_N, compiled=False).feed(signal)
    assert fast == plain and len(fast) > 20
    rows = []
    for block in BLOCK_SIZES:
        numba_sps = samples_per_second(True, signal, block, min_time_s)
        python_sps = samples_per_second(False, signal[:5000], block, min_time_s)
        rows.append({"block_samples": block, "numba_sps": numba_sps, "python_sps": python_sps,
                     "numba_vs_python": numba_sps / python_sps})
    return rows


def markdown(rows: list[dict[str, float]]) -> str:
    lines = ["| block (samples) | numba (samples/s) | plain Python (samples/s) | numba / Python |",
             "|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['block_samples']:.0f} | {r['numba_sps']:,.0f} | "
                     f"{r['python_sps']:,.0f} | {r['numba_vs_python']:.1f}x |")
    return "\n".join(lines)
