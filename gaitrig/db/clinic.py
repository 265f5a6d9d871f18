"""Queries on the clinic's people: clinicians, patients (body mass, prosthesis), notes, erasure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from gaitrig.db import models as m
from gaitrig.db import views as v

PATIENT_FIELDS = ("identifier", "name", "date_of_birth", "amputation_side", "amputation_level",
                  "amputation_cause", "amputation_date", "notes")


class NotFoundError(LookupError):
    """A row the caller named does not exist."""


def now() -> datetime:
    return datetime.now(UTC)


def check_fields(fields: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    """TypeError naming the keys of ``fields`` that are not among ``allowed``."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown {what} fields: {sorted(unknown)}")


# -- clinicians ---------------------------------------------------------------------------------


def add_clinician(session: Session, name: str, role: str = "physiotherapist") -> v.ClinicianOut:
    row = m.Clinician(name=name, role=role, active=True, created_at=now())
    session.add(row)
    session.commit()
    return v.ClinicianOut.of(row)


def list_clinicians(session: Session) -> list[v.ClinicianOut]:
    rows = session.scalars(select(m.Clinician).order_by(m.Clinician.name))
    return [v.ClinicianOut.of(row) for row in rows]


# -- patients -----------------------------------------------------------------------------------


def add_patient(session: Session, identifier: str, name: str, **fields: Any) -> v.PatientOut:
    check_fields(fields, PATIENT_FIELDS, "patient")
    row = m.Patient(identifier=identifier, name=name, created_at=now(),
                    notes=fields.pop("notes", None) or "", **fields)
    session.add(row)
    session.commit()
    return v.PatientOut.of(row)


def update_patient(session: Session, patient_id: int, **fields: Any) -> v.PatientOut | None:
    check_fields(fields, PATIENT_FIELDS, "patient")
    row = session.get(m.Patient, patient_id)
    if row is None:
        return None
    for key, value in fields.items():
        setattr(row, key, "" if key == "notes" and value is None else value)
    session.commit()
    return v.PatientOut.of(row)


def _search(statement: Select[Any], query: str) -> Select[Any]:
    words = query.split()
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(m.Patient.name.ilike(pattern, escape="\\"),
                                        m.Patient.identifier.ilike(pattern, escape="\\")))
    return statement


def find_patients(session: Session, query: str = "", limit: int = 50, offset: int = 0
                  ) -> v.PatientPage:
    """Patients whose name or identifier contains every word of ``query`` (any case), by name.

    Each with the number of their sessions and when the last one started."""
    total = session.scalar(_search(select(func.count(m.Patient.id)), query)) or 0
    visits = (select(m.TrainingSession.patient_id,
                     func.count(m.TrainingSession.id).label("sessions"),
                     func.max(m.TrainingSession.started_at).label("last"))
              .group_by(m.TrainingSession.patient_id).subquery())
    statement = _search(
        select(m.Patient, visits.c.sessions, visits.c.last)
        .outerjoin(visits, visits.c.patient_id == m.Patient.id), query)
    rows = session.execute(statement.order_by(m.Patient.name, m.Patient.id)
                           .limit(limit).offset(offset))
    items = []
    for patient, sessions, last in rows:  # max() keeps the column's type: aware UTC datetimes
        items.append(v.PatientListItem(patient.id, patient.identifier, patient.name,
                                       patient.date_of_birth, patient.amputation_side,
                                       patient.amputation_level, sessions or 0, last))
    return v.PatientPage(int(total), items)


def add_body_mass(session: Session, patient_id: int, measured_on: date, mass_kg: float
                  ) -> v.BodyMassOut:
    _require(session, m.Patient, patient_id)
    row = m.BodyMass(patient_id=patient_id, measured_on=measured_on, mass_kg=mass_kg)
    session.add(row)
    session.commit()
    return v.BodyMassOut.of(row)


def current_body_mass_kg(session: Session, patient_id: int) -> float | None:
    return session.scalar(select(m.BodyMass.mass_kg).where(m.BodyMass.patient_id == patient_id)
                          .order_by(m.BodyMass.measured_on.desc(), m.BodyMass.id.desc())
                          .limit(1))


def add_component(session: Session, patient_id: int, kind: str, description: str,
                  fitted_on: date, removed_on: date | None = None, notes: str = ""
                  ) -> v.ComponentOut:
    _require(session, m.Patient, patient_id)
    row = m.ProsthesisComponent(patient_id=patient_id, kind=kind, description=description,
                                fitted_on=fitted_on, removed_on=removed_on, notes=notes)
    session.add(row)
    session.commit()
    return v.ComponentOut.of(row)


# -- notes --------------------------------------------------------------------------------------


def add_note(session: Session, patient_id: int, author_role: str, text: str = "", *,
             pain_score: int | None = None, pain_location: str | None = None,
             session_id: int | None = None, trial_id: int | None = None,
             clinician_id: int | None = None) -> v.NoteOut:
    """A note; with ``pain_score`` (0 no pain .. 10 worst) it is a comfort/pain entry."""
    if author_role not in m.NOTE_AUTHORS:
        raise ValueError(f"author_role must be one of {m.NOTE_AUTHORS}, got {author_role!r}")
    if pain_score is not None and not 0 <= pain_score <= 10:
        raise ValueError(f"pain_score must be 0..10, got {pain_score}")
    _require(session, m.Patient, patient_id)
    if clinician_id is not None:
        _require(session, m.Clinician, clinician_id)
    if trial_id is not None:
        trial = _require(session, m.Trial, trial_id)
        if session_id is None:
            session_id = trial.session_id
        elif trial.session_id != session_id:
            raise ValueError(f"trial {trial_id} is not in session {session_id}")
    if session_id is not None:
        visit = _require(session, m.TrainingSession, session_id)
        if visit.patient_id != patient_id:
            raise ValueError(f"session {session_id} is not patient {patient_id}'s")
    row = m.Note(patient_id=patient_id, session_id=session_id, trial_id=trial_id,
                 author_role=author_role, clinician_id=clinician_id, created_at=now(),
                 text=text, pain_score=pain_score, pain_location=pain_location)
    session.add(row)
    session.commit()
    return v.NoteOut.of(row)


def list_notes(session: Session, patient_id: int, limit: int = 100) -> list[v.NoteOut]:
    rows = session.scalars(select(m.Note).where(m.Note.patient_id == patient_id)
                           .order_by(m.Note.created_at.desc(), m.Note.id.desc()).limit(limit))
    return [v.NoteOut.of(row) for row in rows]


# -- erasure ------------------------------------------------------------------------------------


def delete_patient(session: Session, patient_id: int) -> bool:
    """Erase a patient and everything that belongs to them (sessions, trials, recordings,
    metrics, notes ...) in one transaction: the foreign keys cascade. False if there was none."""
    result = session.execute(delete(m.Patient).where(m.Patient.id == patient_id))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _require(session: Session, model: type[Any], key: int) -> Any:
    row = session.get(model, key)
    if row is None:
        raise NotFoundError(f"no {model.__tablename__[:-1].replace('_', ' ')} {key}")
    return row
