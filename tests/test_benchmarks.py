"""The benchmarks run, and what they time computes the same numbers (no timing is asserted)."""

from __future__ import annotations

from benchmarks import kernels


def test_kernel_benchmark_runs_and_its_three_implementations_agree() -> None:
    rows = kernels.run(min_time_s=0.005)  # run() first checks numba == numpy == plain Python
    assert [r["block_frames"] for r in rows] == list(kernels.BLOCK_SIZES)
    assert all(r["numba_fps"] > 0 and r["python_fps"] > 0 for r in rows)
    assert "numba / Python" in kernels.markdown(rows)


def test_detector_benchmark_runs_and_both_forms_agree() -> None:
    from benchmarks import detector

    rows = detector.run(min_time_s=0.005)  # run() first checks numba == plain Python events
    assert [r["block_samples"] for r in rows] == list(detector.BLOCK_SIZES)
    assert all(r["numba_sps"] > 0 and r["python_sps"] > 0 for r in rows)
    assert "numba / Python" in detector.markdown(rows)
