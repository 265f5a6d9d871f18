"""The recorder on the real controller and virtual rig: raw frames and results stored in chunks
of at most 1 s, the setup, the live summary and alarms, metrics from the stored recording, and
`rig replay` reproducing them exactly. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from gaitrig.cli import main as cli
from gaitrig.cli.sources import board_source
from gaitrig.db import models as m
from gaitrig.db import recordings, trials
from gaitrig.processing.timeline import ROLES
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.model import Exercise, Targets
from gaitrig.rig.recording.recorder import TrialRecorder
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings


class FrameCount:
    """Counts what the loop hands the recorder, independently of the recorder."""

    def __init__(self) -> None:
        self.frames = dict.fromkeys(ROLES, 0)
        self.seq: dict[str, list[np.ndarray]] = {role: [] for role in ROLES}
        self.rows = 0
        self.first_s: float | None = None
        self.last_s = 0.0

    def seqs(self, role: str) -> np.ndarray:
        return np.concatenate(self.seq[role])

    def gaps(self) -> bool:
        """Did the boards' sequence numbers skip (frames lost before the recorder)?"""
        return any(np.any(np.diff(self.seqs(r)) % 65536 != 1) for r in ROLES)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> FrameCount:
    count = FrameCount()
    original = TrialRecorder.append

    def append(self: TrialRecorder, block: Any, result: Any) -> None:
        for role in ROLES:
            count.frames[role] += len(block.raw[role])
            count.seq[role].append(block.raw[role].seq)
        count.rows += block.rows
        if count.first_s is None:
            count.first_s = float(block.host_time_s[0])
        count.last_s = float(block.host_time_s[-1])
        original(self, block, result)

    monkeypatch.setattr(TrialRecorder, "append", append)
    return count


def rig_with_records(tmp_path: Path, url: str, activity: str = "walking"
                     ) -> Iterator[RigController]:
    records = Records.open(url)
    settings = Settings(data_dir=tmp_path, simulate=True, simulate_activity=activity)
    controller = RigController(settings, records=records, source=board_source(settings))
    controller.start()
    try:
        assert controller.wait_until_streaming(30), "virtual rig did not stream"
        yield controller
    finally:
        controller.stop()
        records.close()


def record_trial(controller: RigController, exercise: Exercise, seconds: float
                 ) -> tuple[int, dict[str, Any]]:
    trial = controller.start_trial(exercise)
    time.sleep(seconds)
    summary = controller.stop_trial()
    assert controller.wait_for_recording(120), "the recording was not written within 120 s"
    return trial.trial_id, summary


def test_a_walking_trial_is_recorded_analysed_and_replayed_exactly(
        database_url: str, tmp_path: Path, counted: FrameCount,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for controller in rig_with_records(tmp_path, database_url):
        controller.set_targets(Targets(20.0, 30.0, limit_pct_bw=35.0))  # walking goes over it
        trial_id, summary = record_trial(controller, Exercise.WALKING, 5.0)
        recorder = controller.last_recording
        assert recorder is not None and recorder.stats.errors == []
        assert controller.virtual_rig is not None
        truth = controller.virtual_rig.events_between(counted.first_s or 0.0, counted.last_s)
        calibration = controller.calibration
        assert calibration is not None
        records = controller.records
        assert records is not None
        with records.sessions() as session:
            detail = trials.get_trial(session, trial_id)
            assert detail is not None
            # every frame the loop handed over is stored, in order, in chunks of <= 1 s
            assert detail.recorded_frames == {r: n for r, n in counted.frames.items() if n}
            assert counted.frames["insole_left"] > 3000 and counted.frames["bars"] > 250
            frames = recordings.load_frames(session, trial_id)
            for role, stored in frames.items():  # the very frames, in order: none lost, none twice
                np.testing.assert_array_equal(stored.seq, counted.seqs(role))
            spans = session.execute(select(
                func.max(m.RecordingChunk.last_host_time_s - m.RecordingChunk.first_host_time_s),
                func.count(m.RecordingChunk.id))
                .where(m.RecordingChunk.trial_id == trial_id)).one()
            assert spans[0] < 1.0 and spans[1] >= 3 * 4
            results = recordings.load_results(session, trial_id)
            assert len(results) == counted.rows
            assert results.values["left_foot_n"].dtype == np.float32
            assert np.nanmax(results.values["left_foot_pct_bw"]) > 50.0  # a walking load
            assert results.values["left_cop_y_mm"].shape == (counted.rows,)
            # the setup needed to reprocess, and the boards
            assert detail.setup is not None and detail.setup["body_mass_kg"] == 75.0
            assert detail.setup["prosthetic_side"] == "left"
            assert detail.setup["rates_hz"]["insole_left"] == 1000.0
            assert len(detail.setup["layout"]["left"]["positions_mm"]) == 8
            trial_row = session.get(m.Trial, trial_id)
            assert trial_row is not None and trial_row.calibration == calibration.to_dicts()
            assert detail.targets is not None and detail.targets["limit_pct_bw"] == 35.0
            assert sorted(d.role for d in detail.devices) == sorted(ROLES)
            assert all(d.firmware_version and d.channel_map for d in detail.devices)
            assert set(detail.firmware_versions or {}) == set(ROLES)
            assert detail.ended_at is not None
            assert detail.recording_status == ("gaps" if counted.gaps() else "complete")
            # the live summary and alarms are kept with the trial
            assert detail.metrics is not None
            assert detail.metrics.summary["live"] == json.loads(json.dumps(summary))
            assert len(detail.alarms) == len(summary["alarms"]) >= 1
            assert detail.alarms[0].kind == "over_limit" and detail.alarms[0].value > 35.0
            # metrics from the stored recording: the steps the virtual patient took
            complete = [e for e in truth if e.kind == "heel_strike" and any(
                o.side == e.side and o.kind == "toe_off" and o.t_s > e.t_s for o in truth)]
            assert abs(detail.metrics.step_count - len(complete)) <= 2
            assert detail.metrics.cadence_steps_per_min is not None
            steps = recordings.step_rows(session, trial_id)
            assert len(steps) == detail.metrics.step_count
            strikes = np.array([s.heel_strike_s for s in steps]) + (counted.first_s or 0.0)
            true_strikes = np.array([e.t_s for e in complete])
            errors = [np.min(np.abs(true_strikes - t)) for t in strikes]
            assert np.median(errors) < 0.05  # s
        # rig replay: the same numbers, bit for bit
        monkeypatch.setenv("GAITRIG_DATABASE_URL", database_url)
        assert cli.main(["replay", str(trial_id)]) == 0
        out = capsys.readouterr().out
        assert "identical to the stored metrics" in out
        assert f"{detail.metrics.step_count} steps" in out


def test_replay_finds_a_changed_metric_and_refuses_unknown_trials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'rig.sqlite3'}"
    for controller in rig_with_records(tmp_path, url, activity="standing"):
        trial_id, _ = record_trial(controller, Exercise.QUIET_STANDING, 3.0)
        records = controller.records
        assert records is not None
        with records.sessions() as session:
            metric = session.get(m.TrialMetric, trial_id)
            assert metric is not None
            assert metric.sway_area_95_mm2 is not None and metric.sway_area_95_mm2 > 0
            balance = metric.summary["balance"]
            assert balance["weight_bearing"]["samples"] == metric.summary["rows"]
            # standing on both feet: the feet carry most of the weight between them
            bearing = balance["weight_bearing"]
            assert 70.0 < bearing["prosthetic_pct_bw_mean"] + bearing["sound_pct_bw_mean"] < 110
            metric.sway_area_95_mm2 *= 1.0 + 1e-12  # the least change is found
            session.commit()
    monkeypatch.setenv("GAITRIG_DATABASE_URL", url)
    assert cli.main(["replay", str(trial_id)]) == 1
    assert "sway_area_95_mm2: stored" in capsys.readouterr().out
    assert cli.main(["replay", "999"]) == 2
    assert "no trial 999" in capsys.readouterr().err


def test_a_pause_is_not_lost_frames(database_url: str, tmp_path: Path) -> None:
    """The frames of a pause are not recorded, and the trial is still ``complete`` (not
    ``gaps``): a pause is the therapist's, not a fault. Found by the clinic-day test."""
    for controller in rig_with_records(tmp_path, database_url):
        trial = controller.start_trial(Exercise.WEIGHT_SHIFT)
        time.sleep(1.0)
        controller.pause_trial()
        time.sleep(1.0)
        controller.resume_trial()
        time.sleep(1.0)
        controller.stop_trial()
        assert controller.wait_for_recording(120)
        recorder = controller.last_recording
        assert recorder is not None and not any(recorder.stats.gaps.values())
        with controller.records.sessions() as db:  # type: ignore[union-attr]
            row = db.get(m.Trial, trial.trial_id)
            assert row is not None and row.recording_status == "complete"
            frames = db.scalar(select(func.sum(m.RecordingChunk.frame_count)).where(
                m.RecordingChunk.trial_id == trial.trial_id,
                m.RecordingChunk.role == "insole_left"))
        rate = controller.settings.insole_rate_hz
        assert 1.6 * rate < frames < 2.6 * rate  # about 2 s recorded of 3 s, not the pause
