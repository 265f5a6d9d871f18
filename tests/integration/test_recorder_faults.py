"""Nothing already recorded is lost when the database goes away during a trial, and the live
loop goes on: SQLite locked by another connection's exclusive transaction for longer than the
writer's busy timeout, across the end of the trial."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from gaitrig.db import recordings, trials
from gaitrig.processing.timeline import ROLES
from gaitrig.rig.model import Exercise
from gaitrig.rig.recording.recorder import TrialRecorder
from tests.integration.test_recorder import FrameCount, counted, rig_with_records  # noqa: F401

LOCK_S = 8.0  # longer than the engine's 5 s busy timeout: writes fail and are retried


def test_a_locked_database_loses_no_chunk_and_does_not_stop_the_loop(
        tmp_path: Path, counted: FrameCount) -> None:  # noqa: F811
    path = tmp_path / "rig.sqlite3"
    for controller in rig_with_records(tmp_path, f"sqlite:///{path}"):
        trial = controller.start_trial(Exercise.WALKING)
        time.sleep(1.5)
        recorder = controller.recording
        assert isinstance(recorder, TrialRecorder)
        blocker = sqlite3.connect(path, timeout=30, check_same_thread=False)
        blocker.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        try:
            assert controller.latest is not None
            seq_before = controller.latest["seq"]
            rows_before = counted.rows
            time.sleep(3.0)
            # the loop went on: new live states, new rows handed to the recorder
            assert controller.latest["seq"] > seq_before + 20
            assert counted.rows > rows_before + 1000
            summary = controller.stop_trial()  # while the database is still locked
            assert summary["duration_s"] > 4.0
            time.sleep(max(0.0, LOCK_S - (time.monotonic() - locked_at)))
            assert not recorder.done.is_set()  # still holding the trial's data, retrying
        finally:
            blocker.rollback()
            blocker.close()
        assert controller.wait_for_recording(120)
        assert recorder.stats.write_failures >= 1  # the outage really hit the writer
        assert recorder.stats.errors == []
        records = controller.records
        assert records is not None
        with records.sessions() as session:
            detail = trials.get_trial(session, trial.trial_id)
            assert detail is not None and detail.ended_at is not None
            assert detail.recording_status == ("gaps" if counted.gaps() else "complete")
            assert detail.recorded_frames == {r: n for r, n in counted.frames.items() if n}
            for role, frames in recordings.load_frames(session, trial.trial_id).items():
                np.testing.assert_array_equal(frames.seq, counted.seqs(role))
            assert len(recordings.load_results(session, trial.trial_id)) == counted.rows
            assert detail.metrics is not None and detail.metrics.summary["live"]["steps"] == \
                summary["steps"]
            assert set(detail.recorded_frames) == set(ROLES)


def test_the_loop_never_waits_when_the_queue_is_full(tmp_path: Path) -> None:
    """With the writer stopped dead, ``append`` keeps the batches itself and hands them over
    later, in order."""
    from gaitrig.rig.records import Records

    records = Records.open(f"sqlite:///{tmp_path / 'q.sqlite3'}")
    with records.sessions() as session:
        trial_id = trials.start_trial(session, "rig-1", "walking").id
    gate = threading.Event()
    recorder = TrialRecorder(records, trial_id, started_s=0.0, chunk_s=0.01, queue_batches=2)
    stuck = recorder._take

    def slow_take(item: tuple[str, object]) -> None:
        gate.wait(60)
        stuck(item)  # type: ignore[arg-type]

    recorder._take = slow_take  # type: ignore[method-assign]
    blocks = [fake_block(i) for i in range(40)]
    for block, result in blocks:
        recorder.append(block, result)  # returns although nobody takes from the queue
    assert recorder._held  # the queue was full: the loop kept the rest itself
    gate.set()
    recorder.finish({"steps": 0}, [])
    assert recorder.wait(60)
    with records.sessions() as session:
        stored = recordings.load_frames(session, trial_id)["insole_left"]
    np.testing.assert_array_equal(stored.seq, np.arange(40 * 5))
    records.close()


def fake_block(index: int) -> tuple[object, object]:
    """A processed block of 5 rows at 1 kHz, as the loop makes them (insole frames only)."""
    from gaitrig.processing.kernels import FRAME_ROWS
    from gaitrig.processing.pipeline import BlockResult
    from gaitrig.processing.timeline import MergedBlock, RawFrames

    n = 5
    times = (index * n + np.arange(n)) / 1000.0
    seq = index * n + np.arange(n, dtype=np.int64)
    empty = RawFrames(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                      np.empty((0, 8), np.int64))
    raw = {"insole_left": RawFrames(times, seq, seq * 1000, np.ones((n, 8), np.int64)),
           "insole_right": empty,
           "bars": RawFrames(np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                             np.empty((0, 4), np.int64))}
    block = MergedBlock(times, {}, {}, {}, raw)
    return block, BlockResult(np.zeros((len(FRAME_ROWS) + 20, n)), 8, 8)


@pytest.mark.parametrize("spool_format", ["appended", "whole"])
def test_a_server_stopping_while_the_database_is_away_keeps_the_recording(
        tmp_path: Path, spool_format: str) -> None:
    """The writer gives up only into a spool file; the next start writes it all. ``whole``: the
    same writes in the format of an earlier version (one pickle, the jobs in its header), which
    a start still reads."""
    import pickle

    from gaitrig.db import models as m
    from gaitrig.rig.recording.spool import read_spool, recover_spooled
    from gaitrig.rig.records import Records

    path = tmp_path / "rig.sqlite3"
    records = Records.open(f"sqlite:///{path}")
    with records.sessions() as session:
        trial_id = trials.start_trial(session, "rig-1", "walking").id
    blocker = sqlite3.connect(path, timeout=30, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        recorder = TrialRecorder(records, trial_id, started_s=0.0, chunk_s=0.05)
        for block, result in (fake_block(i) for i in range(60)):  # 300 frames, 0.3 s
            recorder.append(block, result)
        recorder.finish({"steps": 4, "duration_s": 0.3}, [])
        assert not recorder.wait(6.0)  # the database stays locked: nothing can be written
        spool = recorder.abandon(tmp_path / "spool")
        assert spool is not None and spool.exists() and recorder.done.is_set()
        if spool_format == "whole":
            jobs = read_spool(spool)["jobs"]
            assert [kind for kind, _ in jobs][-2:] == ["stop", "analysis"]
            spool.write_bytes(pickle.dumps({"trial_id": trial_id, "jobs": jobs}))
    finally:
        blocker.rollback()
        blocker.close()
    damaged = tmp_path / "spool" / "trial-0-0.spool"
    damaged.write_bytes(b"\x80\x04 not a pickle")
    assert recover_spooled(records, tmp_path / "spool") == [trial_id]  # the damaged one aside
    assert not spool.exists() and damaged.with_suffix(".bad").exists()
    with records.sessions() as session:
        stored = recordings.load_frames(session, trial_id)["insole_left"]
        np.testing.assert_array_equal(stored.seq, np.arange(300))
        assert len(recordings.load_results(session, trial_id)) == 300
        trial = session.get(m.Trial, trial_id)
        assert trial is not None and trial.ended_at is not None
        assert trial.recording_status == "complete"
        metric = session.get(m.TrialMetric, trial_id)
        assert metric is not None and metric.summary["live"]["steps"] == 4
    assert recover_spooled(records, tmp_path / "spool") == []  # nothing twice
    records.close()


@pytest.mark.postgres
def test_postgresql_refusing_connections_for_a_while_loses_no_chunk() -> None:
    """The server stops taking connections (and drops the open ones) mid-trial, then comes
    back: the writer retries, and every chunk arrives once."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from gaitrig.rig.records import Records
    from tests.conftest import POSTGRES_ADMIN_URL, postgres_database

    databases = postgres_database()
    url = next(databases)
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    records = Records.open(url)
    try:
        with records.sessions() as session:
            trial_id = trials.start_trial(session, "rig-1", "walking").id
        recorder = TrialRecorder(records, trial_id, started_s=0.0, chunk_s=0.05)
        blocks = [fake_block(i) for i in range(80)]
        for block, result in blocks[:20]:
            recorder.append(block, result)
        time.sleep(1.0)
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})
        try:
            for block, result in blocks[20:]:
                recorder.append(block, result)
                time.sleep(0.01)
            recorder.finish({"steps": 0}, [])
            time.sleep(3.0)
            assert not recorder.done.is_set()
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert recorder.wait(120)
        assert recorder.stats.write_failures >= 1 and recorder.stats.errors == []
        with records.sessions() as session:
            stored = recordings.load_frames(session, trial_id)["insole_left"]
            np.testing.assert_array_equal(stored.seq, np.arange(80 * 5))
            assert len(recordings.load_results(session, trial_id)) == 80 * 5
    finally:
        records.close()
        admin.dispose()
        databases.close()
