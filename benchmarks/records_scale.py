"""Clinic-records queries at the size of a busy clinic: 200 patients x 50 sessions x 5 trials
(50,000 trials with their metrics rows, one pain note per session; no raw chunks).

After seeding, ``ANALYZE`` gives the planner its statistics (as PostgreSQL's autovacuum does
on a running server). Timed on each engine (median, judged against the target, and slowest of
:data:`REPEATS` runs, each in a new session; the machine is shared, so the slowest run is
mostly other load): the
patient list (first page, and a search), the patient detail with its progress
(``gaitrig.db.sessions.patient_detail``) and the session detail
(``gaitrig.db.sessions.get_session``). Target: under 200 ms each.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from gaitrig.db import clinic, schema, sessions
from gaitrig.db import models as m
from gaitrig.db.engine import make_engine, session_factory

PATIENTS = 200
SESSIONS_PER_PATIENT = 50
TRIALS_PER_SESSION = 5
REPEATS = 7
TARGET_MS = 200.0
FIRST = ["Anna", "Bruno", "Carla", "Dieter", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Berg", "Alt", "Costa", "Dahl", "Engel", "Fischer", "Gomez", "Horn", "Ito", "Jensen"]
EXERCISES = ("quiet_standing", "weight_shift", "walking", "walking", "partial_weight_bearing")


def seed(session: Session, rng: random.Random) -> dict[str, int]:
    """Fill an empty database; the counts of what was made."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    session.execute(insert(m.Patient), [
        {"id": p + 1, "identifier": f"MRN-{p + 1:05d}",
         "name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {p + 1}",
         "date_of_birth": date(1950 + p % 50, 1 + p % 12, 1 + p % 28),
         "amputation_side": ("left", "right")[p % 2], "amputation_level": "transtibial",
         "notes": "", "created_at": now} for p in range(PATIENTS)])
    visits: list[dict[str, Any]] = []
    trial_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for p in range(PATIENTS):
        start = now - timedelta(days=SESSIONS_PER_PATIENT * 2)
        for s in range(SESSIONS_PER_PATIENT):
            session_id = len(visits) + 1
            began = start + timedelta(days=2 * s, hours=rng.random() * 8)
            visits.append({"id": session_id, "patient_id": p + 1, "rig_id": "rig-1",
                           "started_at": began, "ended_at": began + timedelta(hours=1),
                           "notes": ""})
            notes.append({"patient_id": p + 1, "session_id": session_id,
                          "author_role": "patient", "created_at": began, "text": "",
                          "pain_score": rng.randint(0, 10)})
            for t in range(TRIALS_PER_SESSION):
                trial_id = len(trial_rows) + 1
                at = began + timedelta(minutes=5 * t)
                trial_rows.append({"id": trial_id, "session_id": session_id, "rig_id": "rig-1",
                                   "exercise": EXERCISES[t], "started_at": at,
                                   "ended_at": at + timedelta(minutes=3), "notes": "",
                                   "recording_status": "complete"})
                metric_rows.append({
                    "trial_id": trial_id, "computed_at": at, "analysis_version": "1",
                    "duration_s": 180.0, "step_count": rng.randint(0, 200),
                    "prosthetic_load_share_pct": 30 + 20 * rng.random(),
                    "stance_time_symmetry_index_pct": rng.gauss(-10, 5),
                    "bar_reliance_mean_pct_bw": 40 * rng.random(),
                    "cadence_steps_per_min": 60 + 40 * rng.random(),
                    "sway_area_95_mm2": 300 * rng.random() if t < 2 else None,
                    "summary": {"analysis_version": "1"}})
    for table, rows in ((m.TrainingSession, visits), (m.Trial, trial_rows),
                        (m.TrialMetric, metric_rows), (m.Note, notes)):
        for first in range(0, len(rows), 5000):
            session.execute(insert(table), rows[first:first + 5000])
    session.commit()
    return {"patients": PATIENTS, "sessions": len(visits), "trials": len(trial_rows),
            "notes": len(notes)}


def timed(factory: Callable[[], Session], query: Callable[[Session], Any]) -> list[float]:
    times = []
    for _ in range(REPEATS):
        with factory() as session:
            start = time.perf_counter()
            query(session)
            times.append((time.perf_counter() - start) * 1e3)
    return times


def run(urls: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for engine_name, url in urls.items():
        engine = make_engine(url)
        schema.upgrade(engine)
        factory = session_factory(engine)
        with factory() as session:
            start = time.perf_counter()
            made = seed(session, random.Random(1))
            seed_s = time.perf_counter() - start
        with engine.begin() as connection:  # statistics, as autovacuum / a clinic's nightly job
            connection.execute(text("ANALYZE"))
        with factory() as session:  # a patient and a session from the middle of the data
            page = clinic.find_patients(session, limit=50)
            assert page.total == PATIENTS and len(page.items) == 50
            patient_id = page.items[25].id
            detail = sessions.patient_detail(session, patient_id)
            assert detail is not None and len(detail.progress) == SESSIONS_PER_PATIENT
            assert all(p.trials == TRIALS_PER_SESSION for p in detail.progress)
            session_id = detail.sessions[10].id
            visit = sessions.get_session(session, session_id)
            assert visit is not None and len(visit.trials) == TRIALS_PER_SESSION
        queries: dict[str, Callable[[Session], Any]] = {
            "patient list, first page (50)": lambda s: clinic.find_patients(s, limit=50),
            "patient list, search \"berg 1\"": lambda s: clinic.find_patients(s, "berg 1"),
            "patient detail with progress":
                lambda s, p=patient_id: sessions.patient_detail(s, p),  # type: ignore[misc]
            "session detail":
                lambda s, v=session_id: sessions.get_session(s, v),  # type: ignore[misc]
        }
        for name, query in queries.items():
            times = timed(factory, query)
            rows.append({"engine": engine_name, "query": name,
                         "median_ms": statistics.median(times), "max_ms": max(times),
                         "seed_s": seed_s, **made})
        engine.dispose()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    made = rows[0]
    lines = [f"{made['patients']} patients, {made['sessions']:,} sessions, {made['trials']:,} "
             f"trials with metrics, {made['notes']:,} notes; {REPEATS} runs per query.\n",
             "| engine | query | median (ms) | slowest (ms) | target |", "|---|---|---:|---:|---|"]
    for r in rows:
        verdict = "met" if r["median_ms"] < TARGET_MS else "MISSED"
        lines.append(f"| {r['engine']} | {r['query']} | {r['median_ms']:.1f} | "
                     f"{r['max_ms']:.1f} | < {TARGET_MS:.0f} ms: {verdict} |")
    return "\n".join(lines)
