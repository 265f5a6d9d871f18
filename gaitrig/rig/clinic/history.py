"""The clinic's records as the history pages, the REST API and the exports read and edit them:
patients, clinicians, sessions, notes, and each trial's details, steps and load curves.

Every method opens its own database session and hands out the frozen dataclasses of
:mod:`gaitrig.db.views` (or the few defined here). Faults come out as three exceptions the web layer
maps to HTTP statuses: :class:`RecordNotFoundError` (404), :class:`RecordConflictError` (409, e.g. a
duplicate patient identifier) and :class:`RecordRefusedError` (422, e.g. a note on another patient's
session).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gaitrig.db import clinic, recordings, sessions, trials
from gaitrig.db import models as m
from gaitrig.db import views as v
from gaitrig.rig.clinic.load_curves import (
    LoadCurves,
    StanceCurves,
    load_series,
    make_curves,
    stance_profiles,
)
from gaitrig.rig.clinic.metric_guide import BELONGS
from gaitrig.rig.records import Records

# The views the API hands out, re-exported: the web layer names them from here, not from db.
BodyMassOut = v.BodyMassOut
ClinicianOut = v.ClinicianOut
ComponentOut = v.ComponentOut
NoteOut = v.NoteOut
PatientDetail = v.PatientDetail
PatientOut = v.PatientOut
PatientPage = v.PatientPage
ProgressSeries = v.ProgressSeries
SessionDetail = v.SessionDetail
SessionOut = v.SessionOut
TrialDetail = v.TrialDetail
TrialSummary = v.TrialSummary

T = TypeVar("T")

#: The records' amputation levels (gaitrig.db.models), as the console and the records pages offer
#: them.
AmputationLevel = m.AmputationLevel
LEVEL_LABELS = {"partial_foot": "Partial foot", "ankle_disarticulation": "Ankle disarticulation",
                "transtibial": "Transtibial (below knee)",
                "knee_disarticulation": "Knee disarticulation",
                "transfemoral": "Transfemoral (above knee)",
                "hip_disarticulation": "Hip disarticulation", "other": "Other"}


@dataclass(frozen=True, slots=True)
class LevelChoice:
    key: str
    label: str


def amputation_levels() -> list[LevelChoice]:
    """Every level the records keep, in their order, with its words (one list for all forms)."""
    return [LevelChoice(key, LEVEL_LABELS[key]) for key in m.AMPUTATION_LEVELS]


class RecordNotFoundError(LookupError):
    """The patient, session, trial ... named does not exist."""


class RecordConflictError(ValueError):
    """The change would clash with a stored record (e.g. an identifier already in use)."""


class RecordRefusedError(ValueError):
    """The change does not fit the records (e.g. a note tied to another patient's session)."""


@dataclass(frozen=True, slots=True)
class StepOut:
    """One step of a trial: its gait events (s from the trial's start) and metrics."""

    step_index: int
    foot: str
    prosthetic: bool
    heel_strike_s: float
    toe_off_s: float
    stance_s: float
    peak_load_pct_bw: float | None
    metrics: dict[str, Any]

    @classmethod
    def of(cls, row: m.StepEvent) -> StepOut:
        return cls(row.step_index, row.foot, row.prosthetic, row.heel_strike_s, row.toe_off_s,
                   row.stance_s, row.peak_load_pct_bw, dict(row.metrics or {}))


def today() -> date:
    return datetime.now(UTC).date()


class ClinicHistory:
    """Reads and edits of the clinic's records, over the rig's database (:class:`Records`)."""

    def __init__(self, records: Records) -> None:
        self.records = records

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self.records.sessions() as session:
            try:
                yield session
            except (RecordNotFoundError, RecordConflictError, RecordRefusedError):
                session.rollback()
                raise
            except clinic.NotFoundError as exc:
                session.rollback()
                raise RecordNotFoundError(str(exc)) from exc
            except IntegrityError as exc:
                session.rollback()
                raise RecordConflictError(str(exc.orig).splitlines()[0]) from exc
            except ValueError as exc:
                session.rollback()
                raise RecordRefusedError(str(exc)) from exc

    @staticmethod
    def _found(value: T | None, what: str, key: int) -> T:
        if value is None:
            raise RecordNotFoundError(f"no {what} {key}")
        return value

    # -- patients ------------------------------------------------------------------------------

    def find_patients(self, query: str = "", limit: int = 50, offset: int = 0) -> v.PatientPage:
        with self._session() as session:
            return clinic.find_patients(session, query, limit, offset)

    def _identifier_free(self, session: Session, identifier: str, patient_id: int | None
                         ) -> None:
        holder = session.scalar(select(m.Patient.id).where(m.Patient.identifier == identifier))
        if holder is not None and holder != patient_id:
            raise RecordConflictError(f"identifier {identifier!r} is already patient {holder}'s")

    def add_patient(self, identifier: str, name: str, body_mass_kg: float | None = None,
                    **fields: Any) -> v.PatientOut:
        """A new patient; with ``body_mass_kg``, their first weighing (today)."""
        with self._session() as session:
            self._identifier_free(session, identifier, None)
            patient = clinic.add_patient(session, identifier, name, **fields)
            if body_mass_kg is not None:
                clinic.add_body_mass(session, patient.id, today(), body_mass_kg)
            return patient

    def patient_detail(self, patient_id: int) -> v.PatientDetail:
        with self._session() as session:
            detail = sessions.patient_detail(session, patient_id, belongs=BELONGS)
            return self._found(detail, "patient", patient_id)

    def update_patient(self, patient_id: int, **fields: Any) -> v.PatientOut:
        with self._session() as session:
            if fields.get("identifier") is not None:
                self._identifier_free(session, fields["identifier"], patient_id)
            patient = clinic.update_patient(session, patient_id, **fields)
            return self._found(patient, "patient", patient_id)

    def delete_patient(self, patient_id: int) -> None:
        """Erase the patient and all that is theirs (sessions, trials, recordings, notes)."""
        with self._session() as session:
            if not clinic.delete_patient(session, patient_id):
                raise RecordNotFoundError(f"no patient {patient_id}")

    def add_body_mass(self, patient_id: int, mass_kg: float, measured_on: date | None = None
                      ) -> v.BodyMassOut:
        with self._session() as session:
            return clinic.add_body_mass(session, patient_id, measured_on or today(), mass_kg)

    def add_component(self, patient_id: int, kind: str, description: str, fitted_on: date,
                      removed_on: date | None = None, notes: str = "") -> v.ComponentOut:
        with self._session() as session:
            return clinic.add_component(session, patient_id, kind, description, fitted_on,
                                        removed_on, notes)

    def add_note(self, patient_id: int, author_role: str, text: str = "", **fields: Any
                 ) -> v.NoteOut:
        """A note (``fields``: pain_score 0-10, pain_location, session_id, trial_id,
        clinician_id)."""
        with self._session() as session:
            return clinic.add_note(session, patient_id, author_role, text, **fields)

    def patient_trials(self, patient_id: int) -> list[v.TrialSummary]:
        """Every trial of the patient, oldest first, with its metrics (the compare view's
        choice)."""
        with self._session() as session:
            clinic._require(session, m.Patient, patient_id)
            visits = select(m.TrainingSession.id).where(
                m.TrainingSession.patient_id == patient_id)
            return sessions.trial_summaries(session, m.Trial.session_id.in_(visits))

    # -- clinicians ----------------------------------------------------------------------------

    def list_clinicians(self) -> list[v.ClinicianOut]:
        with self._session() as session:
            return clinic.list_clinicians(session)

    def add_clinician(self, name: str, role: str) -> v.ClinicianOut:
        with self._session() as session:
            return clinic.add_clinician(session, name, role)

    # -- sessions ------------------------------------------------------------------------------

    def start_session(self, patient_id: int, rig_id: str, clinician_id: int | None = None,
                      notes: str = "") -> v.SessionOut:
        with self._session() as session:
            return sessions.start_session(session, patient_id, rig_id, clinician_id, notes)

    def session_detail(self, session_id: int) -> v.SessionDetail:
        with self._session() as session:
            detail = sessions.get_session(session, session_id)
            return self._found(detail, "session", session_id)

    def update_session(self, session_id: int, notes: str | None = None, end: bool = False
                       ) -> v.SessionOut:
        with self._session() as session:
            out = sessions.update_session(session, session_id, notes=notes, end=end)
            return self._found(out, "session", session_id)

    # -- trials recorded with no patient confirmed ----------------------------------------------

    def unassigned_trials(self) -> list[v.TrialSummary]:
        with self._session() as session:
            return sessions.unassigned_trials(session)

    def assign_trial(self, trial_id: int, session_id: int | None = None,
                     patient_id: int | None = None) -> v.SessionOut:
        """Put an unassigned trial into one of the patient's sessions (``session_id``), or into
        a new session of ``patient_id`` held at the trial's time (with its clinician)."""
        with self._session() as session:
            trial = self._found(session.get(m.Trial, trial_id), "trial", trial_id)
            if trial.session_id is not None:
                raise RecordConflictError(
                    f"trial {trial_id} already belongs to session {trial.session_id}")
            if session_id is None:
                if patient_id is None:
                    raise RecordRefusedError("name a session_id or a patient_id")
                made = sessions.start_session(session, patient_id, trial.rig_id,
                                              trial.clinician_id, started_at=trial.started_at)
                session_id = made.id
            sessions.assign_trial(session, trial_id, session_id)
            row = self._found(session.get(m.TrainingSession, session_id), "session",
                              session_id)
            if row.ended_at is not None and trial.ended_at is not None:
                row.ended_at = max(row.ended_at, trial.ended_at)
            elif row.ended_at is None and patient_id is not None:
                row.ended_at = trial.ended_at
            session.commit()
            return v.SessionOut.of(row)

    # -- trials --------------------------------------------------------------------------------

    def trial_detail(self, trial_id: int) -> v.TrialDetail:
        with self._session() as session:
            detail = trials.get_trial(session, trial_id)
            return self._found(detail, "trial", trial_id)

    def trial_steps(self, trial_id: int) -> list[StepOut]:
        with self._session() as session:
            clinic._require(session, m.Trial, trial_id)
            return [StepOut.of(row) for row in recordings.step_rows(session, trial_id)]

    def trial_curves(self, trial_id: int, max_points: int = 2000) -> LoadCurves:
        """Loads (% BW) and CoP (mm) over time from the stored results, at most
        ``max_points`` samples."""
        with self._session() as session:
            trial = clinic._require(session, m.Trial, trial_id)
            results = recordings.load_results(session, trial_id)
            body_mass_kg = (trial.setup or {}).get("body_mass_kg")
        return make_curves(trial_id, results.host_time_s, results.values,
                           None if body_mass_kg is None else float(body_mass_kg), max_points)

    def trial_stance_curves(self, trial_id: int, side: str = "prosthetic", points: int = 101
                            ) -> StanceCurves:
        """The load (% BW) under the ``side`` ("prosthetic" or "sound") foot through each of its
        steps, resampled to % of stance, and their mean (the compare view's overlay)."""
        with self._session() as session:
            trial = clinic._require(session, m.Trial, trial_id)
            results = recordings.load_results(session, trial_id)
            steps = [StepOut.of(row) for row in recordings.step_rows(session, trial_id)]
            body_mass_kg = (trial.setup or {}).get("body_mass_kg")
        series = load_series(results.values, body_mass_kg)
        time_s = results.host_time_s - (results.host_time_s[0] if len(results) else 0.0)
        chosen = [s for s in steps if s.prosthetic == (side == "prosthetic")]
        kept: list[int] = []
        rows = []
        for step in chosen:
            column = series.get(f"{step.foot}_foot_pct_bw")
            if column is None:
                continue
            profile = stance_profiles(time_s, column, [(step.heel_strike_s, step.toe_off_s)],
                                      points)
            if len(profile):
                kept.append(step.step_index)
                rows.append(profile[0])
        table = np.array(rows).reshape(len(rows), points)
        mean = [float(v) for v in table.mean(axis=0)] if rows else []
        return StanceCurves(trial_id, side, [float(x) for x in np.linspace(0.0, 100.0, points)],
                            mean, kept,
                            [[float(v) for v in row] for row in table])
