"""Seed the clinic records for tests through the db query layer: patients, sessions, trials with
metrics, step events and synthetic recordings (raw chunks and result chunks) of known shape.

The synthetic walk: each foot's load is a half-sine stance of ``STANCE_S`` every ``STRIDE_S``
(the right foot half a stride later), peaking at ``peak_pct_bw``; the bars carry the rest of
the body weight split evenly; CoP y rolls from heel (0 mm) to toe (``FOOT_LENGTH_MM``) in
stance and is NaN in swing. Everything is known in closed form, so tests can check what the
curves, the exports and the pages show against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gaitrig.db import clinic, recordings, sessions, trials
from gaitrig.db import models as m
from gaitrig.db.engine import make_engine, session_factory
from gaitrig.db.recordings import Frames, Results
from gaitrig.db.schema import upgrade

RATE_HZ = 1000.0
STRIDE_S = 1.2
STANCE_S = 0.72
FOOT_LENGTH_MM = 250.0
BODY_MASS_KG = 80.0
INSOLE_CHANNELS = 8
BAR_CHANNELS = 4


@dataclass(frozen=True)
class SeededTrial:
    id: int
    duration_s: float
    peak_pct_bw: float
    steps: list[dict[str, Any]]
    results: Results


def open_session(url: str) -> Session:
    engine = make_engine(url)
    upgrade(engine)
    return session_factory(engine)()


def stance_load(time_s: np.ndarray, offset_s: float, peak_pct_bw: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """A foot's load (% BW) and its stance phase (0..1, NaN in swing) at ``time_s``."""
    phase = ((time_s - offset_s) % STRIDE_S) / STANCE_S
    in_stance = (time_s >= offset_s) & (phase <= 1.0)
    load = np.where(in_stance, peak_pct_bw * np.sin(np.pi * np.clip(phase, 0, 1)), 0.0)
    return load, np.where(in_stance, phase, np.nan)


def synthetic_walk(duration_s: float, peak_pct_bw: float, prosthetic_side: str = "left"
                   ) -> tuple[Results, list[dict[str, Any]], dict[str, Frames]]:
    n = round(duration_s * RATE_HZ)
    t = 1000.0 + np.arange(n) / RATE_HZ  # host clock: the trial began at 1000 s
    rel = t - t[0]
    left, left_phase = stance_load(rel, 0.0, peak_pct_bw)
    right, right_phase = stance_load(rel, STRIDE_S / 2, peak_pct_bw)
    bars = np.clip(100.0 - left - right, 0.0, None) / 2
    values = {
        "left_foot_pct_bw": left.astype(np.float32),
        "right_foot_pct_bw": right.astype(np.float32),
        "left_bar_pct_bw": bars.astype(np.float32),
        "right_bar_pct_bw": bars.astype(np.float32),
        "left_cop_x_mm": np.where(np.isnan(left_phase), np.nan, 5.0).astype(np.float32),
        "left_cop_y_mm": (left_phase * FOOT_LENGTH_MM).astype(np.float32),
        "right_cop_x_mm": np.where(np.isnan(right_phase), np.nan, -5.0).astype(np.float32),
        "right_cop_y_mm": (right_phase * FOOT_LENGTH_MM).astype(np.float32),
    }
    steps = []
    strikes = sorted([(k * STRIDE_S, "left") for k in range(int(duration_s / STRIDE_S) + 1)]
                     + [(k * STRIDE_S + STRIDE_S / 2, "right")
                        for k in range(int(duration_s / STRIDE_S) + 1)])
    for index, (strike, foot) in enumerate(s for s in strikes if s[0] + STANCE_S < duration_s):
        steps.append({"step_index": index, "foot": foot, "prosthetic": foot == prosthetic_side,
                      "heel_strike_s": strike, "toe_off_s": strike + STANCE_S,
                      "stance_s": STANCE_S, "peak_load_pct_bw": peak_pct_bw,
                      "metrics": {"stance_s": STANCE_S, "peak_load_pct_bw": peak_pct_bw}})
    seq = np.arange(n, dtype=np.int64)
    device_us = (np.arange(n) * 1_000_000 // int(RATE_HZ)).astype(np.int64)
    newtons = BODY_MASS_KG * 9.80665 / 100.0
    frames = {
        "insole_left": Frames(t, seq, device_us, np.repeat(
            (left * newtons * 10 / INSOLE_CHANNELS).astype(np.int64)[:, None], INSOLE_CHANNELS, 1)),
        "insole_right": Frames(t, seq, device_us, np.repeat(
            (right * newtons * 10 / INSOLE_CHANNELS).astype(np.int64)[:, None], INSOLE_CHANNELS,
            1)),
        "bars": Frames(t[::12], seq[::12] // 12, device_us[::12], np.repeat(
            (bars[::12] * newtons * 100).astype(np.int64)[:, None], BAR_CHANNELS, 1)),
    }
    return Results(t, values), steps, frames


def write_recording(session: Session, trial_id: int, results: Results,
                    frames: dict[str, Frames]) -> None:
    """Store the arrays as the recorder does: chunks of at most one second."""
    raw_rows, result_rows = [], []
    for role, board in frames.items():
        edges = np.searchsorted(board.host_time_s,
                                np.arange(board.host_time_s[0], board.host_time_s[-1] + 1, 1.0))
        for index, (a, b) in enumerate(zip(edges[:-1], [*edges[1:-1], len(board)],
                                           strict=True)):
            if b > a:
                raw_rows.append(recordings.raw_chunk_row(trial_id, role, index, Frames(
                    board.host_time_s[a:b], board.seq[a:b], board.device_time_us[a:b],
                    board.counts[a:b])))
    step = int(RATE_HZ)
    for index, a in enumerate(range(0, len(results), step)):
        part = Results(results.host_time_s[a:a + step],
                       {k: column[a:a + step] for k, column in results.values.items()})
        result_rows.append(recordings.result_chunk_row(trial_id, index, part))
    recordings.write_chunks(session, raw_rows, result_rows)


def metric_row(share_pct: float, symmetry_pct: float, bars_pct: float, cadence: float,
               sway_mm2: float | None, duration_s: float, step_count: int) -> dict[str, Any]:
    return {"computed_at": datetime.now(UTC), "analysis_version": "test-1",
            "duration_s": duration_s, "step_count": step_count,
            "prosthetic_load_share_pct": share_pct,
            "stance_time_symmetry_index_pct": symmetry_pct,
            "bar_reliance_mean_pct_bw": bars_pct, "cadence_steps_per_min": cadence,
            "sway_area_95_mm2": sway_mm2,
            "summary": {"prosthetic_load_share_pct": share_pct}}


def seed_trial(session: Session, session_id: int, peak_pct_bw: float = 90.0,
               duration_s: float = 6.0, share_pct: float = 45.0, with_recording: bool = True,
               body_mass_kg: float = BODY_MASS_KG) -> SeededTrial:
    trial = trials.start_trial(session, "rig-test", "walking", session_id=session_id,
                               footwear="own trainers",
                               setup={"body_mass_kg": body_mass_kg, "prosthetic_side": "left",
                                      "insole_rate_hz": RATE_HZ})
    visit = session.get(m.TrainingSession, session_id)
    if visit is not None:  # the trial starts ten minutes into its session
        trial.started_at = visit.started_at + timedelta(minutes=10)
        trial.ended_at = trial.started_at + timedelta(seconds=duration_s)
        session.commit()
    results, steps, frames = synthetic_walk(duration_s, peak_pct_bw)
    recordings.add_devices(session, trial.id, {
        "insole_left": {"sample_rate_hz": RATE_HZ, "firmware_version": [1, 0, 0],
                        "channel_map": [f"fsr{i}" for i in range(INSOLE_CHANNELS)]},
        "insole_right": {"sample_rate_hz": RATE_HZ, "firmware_version": [1, 0, 0],
                         "channel_map": [f"fsr{i}" for i in range(INSOLE_CHANNELS)]},
        "bars": {"sample_rate_hz": RATE_HZ / 12, "firmware_version": [1, 0, 0],
                 "channel_map": ["left_front", "left_rear", "right_front", "right_rear"]}})
    if with_recording:
        write_recording(session, trial.id, results, frames)
    recordings.store_analysis(session, trial.id, metric_row(
        share_pct, 100 - 2 * share_pct, 30.0, 60 / (STRIDE_S / 2), None, duration_s,
        len(steps)), steps)
    trials.stop_trial(session, trial.id)
    return SeededTrial(trial.id, duration_s, peak_pct_bw, steps, results)


def seed_patient_history(session: Session, name: str = "Maria Lopez",
                         identifier: str = "MRN-0042", weeks: int = 4
                         ) -> tuple[int, list[int], list[SeededTrial]]:
    """A patient with one session a week (share of load on the prosthesis rising 30 -> 48 %,
    pain falling), each with one recorded walking trial; (patient id, session ids, trials)."""
    patient = clinic.add_patient(session, identifier, name, amputation_side="left",
                                 amputation_level="transtibial")
    clinic.add_body_mass(session, patient.id, datetime(2026, 9, 1).date(), BODY_MASS_KG)
    clinician = clinic.add_clinician(session, "Sam Physio")
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    session_ids, seeded = [], []
    for week in range(weeks):
        visit = sessions.start_session(session, patient.id, "rig-test", clinician.id,
                                       started_at=start + timedelta(weeks=week))
        session_ids.append(visit.id)
        share = 30.0 + 6.0 * week
        seeded.append(seed_trial(session, visit.id, peak_pct_bw=60.0 + 10 * week,
                                 share_pct=share))
        clinic.add_note(session, patient.id, "patient", f"week {week + 1}",
                        pain_score=max(0, 6 - 2 * week), pain_location="residual limb",
                        session_id=visit.id)
    return patient.id, session_ids, seeded


def seed_through(client: Any, weeks: int = 4) -> tuple[int, list[int], list[SeededTrial]]:
    """:func:`seed_patient_history` in the database of a running app's TestClient."""
    with client.app.state.records.sessions() as session:
        return seed_patient_history(session, weeks=weeks)


# -- small queries the tests check with (the product has no use for them) ----------------------


def chunk_count(session: Session, trial_id: int) -> int:
    """How many raw recording chunks the trial has stored."""
    return int(session.scalar(select(func.count(m.RecordingChunk.id))
                              .where(m.RecordingChunk.trial_id == trial_id)) or 0)


def add_alarm(session: Session, trial_id: int, at_s: float, kind: str, message: str,
              value: float | None = None) -> None:
    """An alarm row, as the recorder stores one at a trial's stop."""
    session.add(m.Alarm(trial_id=trial_id, at_s=at_s, kind=kind, message=message, value=value,
                        created_at=datetime.now(UTC)))
    session.commit()
