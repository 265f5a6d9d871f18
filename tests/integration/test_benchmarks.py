"""The benchmarks run, and what they time computes the same numbers (no timing is asserted)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

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


def test_latency_matching_agrees_with_a_brute_force_search() -> None:
    """The vectorised matching of frames to updates against a plain loop over every frame."""
    import numpy as np

    from benchmarks import end_to_end

    rng = np.random.default_rng(3)
    written = {role: 100.0 + np.arange(70_000) * 1e-3 + rng.uniform(0, 2e-4, 70_000)
               for role in end_to_end.INSOLES}

    class Board:
        def __init__(self, times: np.ndarray) -> None:
            self.times = times

        def written_at_s(self, seq: int) -> float | None:
            # Sequence numbers wrap at 2^16: the newest frame with this number (as the rig's ring).
            candidates = [k for k in range(seq, len(self.times), 65536)]
            return float(self.times[candidates[-1]]) if candidates else None

    rig = SimpleNamespace(boards={role: Board(times) for role, times in written.items()})

    # Updates every ~16.7 ms naming the newest frame written ~1-3 ms before; seq wraps past 65535.
    rows, newest = [], {"insole_left": 65_000, "insole_right": 65_010}
    arrival = 100.0 + 65_020e-3
    for update_seq in range(200):
        arrival += rng.uniform(0.012, 0.02)
        for role in newest:
            newest[role] = int(np.searchsorted(written[role], arrival - rng.uniform(1e-3, 3e-3)))
        rows.append([arrival, newest["insole_left"] % 65536, newest["insole_right"] % 65536,
                     arrival - 5e-4, update_seq])
    found = end_to_end.latencies(rig, [rows], since_s=0.0)  # type: ignore[arg-type]

    display, every = [], []
    for column, role in enumerate(end_to_end.INSOLES, start=1):
        seen: list[int] = []
        unwrapped = []
        for row in rows:  # unwrap by walking forward, as a reader would
            s = int(row[column])
            if unwrapped:
                s = unwrapped[-1] + (s - unwrapped[-1]) % 65536
            unwrapped.append(s)
        for row, s in zip(rows, unwrapped, strict=True):
            if s not in seen:
                seen.append(s)
                display.append(row[0] - written[role][s])
        for k in range(unwrapped[0] + 1, unwrapped[-1] + 1):
            first = next(i for i, s in enumerate(unwrapped) if s >= k)
            every.append(rows[first][0] - written[role][k])
    assert np.allclose(np.sort(found["display"]), np.sort(display))
    assert np.allclose(np.sort(found["every_frame"]), np.sort(every))
    assert np.allclose(found["built_to_arrival"], 5e-4)
    assert 1e-3 <= np.median(found["display"]) <= 3.2e-3


def test_fixed_rate_board_keeps_its_rate_when_the_host_asks_for_1000_hz() -> None:
    """Above the firmware's 1000 Hz only for the benchmark: the frames' clock steps say so."""
    import threading

    from benchmarks.end_to_end import FixedRateInsoleBoard, make_rig
    from gaitrig.drivers import protocol as p
    from gaitrig.drivers.serial_link import BoardLink
    from gaitrig.testing.links import LinkReader

    stamps: list[int] = []
    enough = threading.Event()

    def collect(_: BoardLink, message: p.Message, __: float) -> None:
        if isinstance(message, p.Data):
            stamps.append(message.timestamp_us)
            if len(stamps) >= 200:
                enough.set()

    with make_rig(5000) as rig:
        board = rig.insole_left
        assert isinstance(board, FixedRateInsoleBoard)
        link = BoardLink(board.port, sample_rates_hz={p.BoardRole.INSOLE_LEFT: 1000})
        reader = LinkReader([link], collect).start()
        link.open()
        try:
            assert enough.wait(30), "no frames from the fast board"
        finally:
            reader.stop()
            link.close()
    steps = {(b - a) % 2**32 for a, b in itertools.pairwise(stamps[:150])}
    assert steps == {200}, steps  # 1e6 µs / 5000 Hz


@pytest.mark.slow
def test_end_to_end_benchmark_measures_real_updates_from_another_process() -> None:
    """A short run of the real thing: three processes, frames matched to updates."""
    import numpy as np

    from benchmarks import end_to_end

    results = end_to_end.run_loads(duration_s=3.0, client_counts=(2,),
                                   modes={"batched (default)": {}})
    [result] = results
    assert result.clients == 2 and result.updates_per_client_s > 5
    assert result.display_ms["n"] > 10 and result.every_frame_ms["n"] > 100
    # Causality: no update arrives before the frame it names was written (shared clock).
    assert 0 < result.display_ms["p50"] <= result.display_ms["max"]
    assert result.every_frame_ms["p50"] >= result.display_ms["p50"] * 0.5
    assert np.isfinite(result.cpu_pct) and result.cpu_pct > 0 and result.rss_mb > 20
    assert result.frames_sent > 0 and result.frames_received > 0
    table = end_to_end.loads_markdown(results)
    assert "batched (default)" in table and "every-frame latency" in table


def test_updates_missed_counts_the_gaps_in_the_update_numbers() -> None:
    from benchmarks.end_to_end import updates_missed

    assert updates_missed([]) == 0 and updates_missed([7]) == 0
    assert updates_missed([1, 2, 3, 5, 9, 10]) == 1 + 3


@pytest.mark.slow
def test_soak_benchmark_runs_rounds_on_one_server() -> None:
    """The soak's machinery on a short run: two rounds of two clients on one server."""
    from benchmarks import soak

    results = soak.run(duration_s=6.0, clients=2, round_s=3.0)
    assert len(results) == 2 and all(r.clients == 2 for r in results)
    assert all(r.updates_per_client_s > 5 and r.display_ms["n"] > 10 for r in results)
    assert results[0].extra["elapsed_s"] < results[1].extra["elapsed_s"]
    assert all(r.rss_mb > 20 for r in results)
    # Gaps in the updates' own seq, not in the frames' (those step ~17 per update at 60/s):
    # two clients lose less than a second's worth of updates in a round.
    assert all(r.extra["updates_lost"] < r.updates_per_client_s * r.clients for r in results)
    assert "growth" in soak.markdown(results)


def test_live_path_benchmark_compares_with_the_code_before_issue_8() -> None:
    from benchmarks import live_path

    result = live_path.run(rounds=1)  # run() first checks both decoders agree frame by frame
    assert all(value > 0 for value in result.values())
    assert "wire decoder" in live_path.markdown(result)


def test_line_profile_times_the_processing_threads_lines() -> None:
    """The line profile runs the controller for a second and times the functions it names."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "benchmarks.line_profile", "1"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    for function in ("RigController._read_boards", "RigController._publish", "BoardLink.poll"):
        section = out.split(f"Function: {function} ", 1)
        assert len(section) == 2, f"{function} not profiled"
        total_s = float(section[0].rsplit("Total time: ", 1)[1].split(" s", 1)[0])
        assert total_s > 0, f"{function} was never called on the processing thread"


@pytest.mark.parametrize("block_s", [0.0, 0.002])
def test_the_old_block_schedules_run_the_real_server(block_s: float, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/block_schedules.py puts the schedules before issue 8 in the controller's place
    (the product keeps one): a server run with them streams, and its blocks follow them."""
    from benchmarks import block_schedules
    from gaitrig.rig.live import controller
    from gaitrig.testing.server import start_server

    schedule = block_schedules.schedule_for(block_s)
    assert issubclass(schedule, controller.BlockSchedule) and not schedule.fresh
    with pytest.raises(ValueError, match="BLOCK_S"):
        block_schedules.schedule_for(0.5)
    made: list[controller.BlockSchedule] = []

    class Watched(schedule):  # type: ignore[valid-type,misc]
        def __init__(self, interval_s: float) -> None:
            super().__init__(interval_s)
            made.append(self)

    monkeypatch.setattr(controller, "BlockSchedule", Watched)
    live = start_server(tmp_path)
    try:
        time.sleep(1.0)
        assert len(made) == 1 and live.controller.latest is not None
        assert live.controller.latest["type"] == "live"
        if block_s:
            assert made[0].last_block_s > 0.0  # the fixed blocks ran the loop
    finally:
        live.stop()
