"""Frames per second of the processing pipeline: numba kernels vs their numpy twins vs a
plain-Python per-frame loop, in the same run, for blocks of 1, 10, 100 and 1000 frames of
2 x 8 FSR + 4 load cells."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from benchmarks.plain_python import process_frame
from gaitrig.processing import reference
from gaitrig.processing.calibration import RigCalibration
from gaitrig.processing.layouts import RigLayout
from gaitrig.processing.pipeline import BlockProcessor, process_block, warm_up
from gaitrig.sim.rig import VirtualRig

BLOCK_SIZES = (1, 10, 100, 1000)
BODY_MASS_KG = 75.0


def realistic_counts(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts from the virtual rig's sensor physics for a walking patient (not random noise)."""
    layout = RigLayout.load(8, 42)
    rig = VirtualRig(body_mass_kg=BODY_MASS_KG, insole_positions_mm={
        "left": layout.left.positions_mm, "right": layout.right.positions_mm}, seed=seed)
    t_s = np.arange(frames) / 1000.0
    return (rig._insole_reader("left")(t_s), rig._insole_reader("right")(t_s),
            rig._read_bar_counts(t_s))


def frames_per_second(run: Callable[[], object], frames: int, min_time_s: float) -> float:
    """Frames per second of ``run`` (``frames`` frames a call), from the fastest of at least
    five timed batches over about ``min_time_s`` in all: on a shared machine other processes
    only ever slow a batch down, so the fastest batch is the nearest to the code's own speed
    (the advice of Python's ``timeit``); every implementation is measured the same way."""
    run()  # warm
    start = time.perf_counter()
    run()
    once_s = max(time.perf_counter() - start, 1e-9)
    calls = max(1, int(min_time_s / 10.0 / once_s))  # about a tenth of min_time_s a batch
    best_s, spent_s, batches = float("inf"), 0.0, 0
    while spent_s < min_time_s or batches < 5:
        start = time.perf_counter()
        for _ in range(calls):
            run()
        batch_s = time.perf_counter() - start
        best_s = min(best_s, batch_s / calls)
        spent_s += batch_s
        batches += 1
    return frames / best_s


def run(min_time_s: float = 0.3) -> list[dict[str, float]]:
    warm_up()
    layout = RigLayout.load(8, 42)
    calibration = RigCalibration.from_dicts(VirtualRig.nominal_calibration_for(8))
    left, right, bars = realistic_counts(1000)
    # The three implementations must agree before their speeds mean anything.
    fast = process_block(left, right, bars, calibration, layout, BODY_MASS_KG)
    twin = process_block(left, right, bars, calibration, layout, BODY_MASS_KG, reference)
    np.testing.assert_allclose(fast.pct_bw, twin.pct_bw, rtol=1e-9)
    plain = [process_frame(left[i], right[i], bars[i], calibration, layout, BODY_MASS_KG)
             for i in range(len(left))]
    np.testing.assert_allclose([f["left_foot_n"] for f in plain], fast.left_foot_n, rtol=1e-9)
    np.testing.assert_allclose([f["right_cop_y_mm"] for f in plain], fast.right_cop_mm[:, 1],
                               rtol=1e-9)
    return [measure_block(n, left[:n], right[:n], bars[:n], calibration, layout, min_time_s)
            for n in BLOCK_SIZES]


def measure_block(n: int, left: np.ndarray, right: np.ndarray, bars: np.ndarray,
                  calibration: RigCalibration, layout: RigLayout,
                  min_time_s: float) -> dict[str, float]:
    l_list, r_list, b_list = left.tolist(), right.tolist(), bars.tolist()
    left, right, bars = (np.ascontiguousarray(a) for a in (left, right, bars))
    fast = BlockProcessor(calibration, layout, BODY_MASS_KG)
    twin = BlockProcessor(calibration, layout, BODY_MASS_KG, reference)
    numba_fps = frames_per_second(lambda: fast.process(left, right, bars), n, min_time_s)
    numpy_fps = frames_per_second(lambda: twin.process(left, right, bars), n, min_time_s)
    python_fps = frames_per_second(
        lambda: [process_frame(l_list[i], r_list[i], b_list[i], calibration, layout,
                               BODY_MASS_KG) for i in range(n)], n, min_time_s)
    return {"block_frames": n, "numba_fps": numba_fps, "numpy_fps": numpy_fps,
            "python_fps": python_fps, "numba_vs_python": numba_fps / python_fps,
            "numba_vs_numpy": numba_fps / numpy_fps}


def markdown(rows: list[dict[str, float]]) -> str:
    lines = ["| block (frames) | numba (frames/s) | numpy twins (frames/s) | plain Python "
             "(frames/s) | numba / Python | numba / numpy |", "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['block_frames']:.0f} | {r['numba_fps']:,.0f} | {r['numpy_fps']:,.0f} "
                     f"| {r['python_fps']:,.0f} | {r['numba_vs_python']:.1f}x "
                     f"| {r['numba_vs_numpy']:.1f}x |")
    return "\n".join(lines)
