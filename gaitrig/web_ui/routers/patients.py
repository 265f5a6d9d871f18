"""Patients: search, register, read (with history and progress), correct, erase; their body mass,
prosthesis components and notes (comfort/pain entries included)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BeforeValidator, Field, model_validator

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic.history import (
    AmputationLevel,
    BodyMassOut,
    ComponentOut,
    NoteOut,
    PatientDetail,
    PatientOut,
    PatientPage,
    TrialSummary,
    today,
)
from gaitrig.web_ui.api_input import MAX_RECORD_ID, BodyId, ClosedInput, RecordId
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import Audit, History

router = APIRouter(prefix="/api/patients", tags=["patients"])
READ, WRITE = [requires(Permission.VIEW_RECORDS)], [requires(Permission.EDIT_RECORDS)]

Side = Literal["left", "right", "bilateral"]
Level = AmputationLevel  # the records' one list (gaitrig.db.models.AMPUTATION_LEVELS)
ComponentKind = Literal["foot", "knee", "socket", "liner", "pylon", "suspension", "other"]
Author = Literal["patient", "therapist", "prosthetist"]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$",
                                  description="The clinic's own record number.")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


def _date_text(value: object) -> object:
    """Dates come as ISO text (``"2026-10-01"``): not numbers turned into days since 1970."""
    if not isinstance(value, str | date):
        raise ValueError("a date must be text, YYYY-MM-DD")
    return value


#: A calendar day in a request body: ISO 8601 text.
Day = Annotated[date, Field(strict=False), BeforeValidator(_date_text)]
BodyMassKg = Annotated[float, Field(gt=20, lt=300, description="Body mass in kg (prosthesis on).")]


def _not_future(day: date | None, field: str) -> None:
    if day is not None and day > today():
        raise ValueError(f"{field} is in the future")


class PatientFields(ClosedInput):
    date_of_birth: Day | None = None
    amputation_side: Side | None = None
    amputation_level: Level | None = None
    amputation_cause: str | None = Field(default=None, max_length=64)
    amputation_date: Day | None = None
    notes: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def dates_in_order(self) -> PatientFields:
        _not_future(self.date_of_birth, "date_of_birth")
        _not_future(self.amputation_date, "amputation_date")
        if (self.date_of_birth and self.amputation_date
                and self.amputation_date < self.date_of_birth):
            raise ValueError("amputation_date is before date_of_birth")
        return self


class PatientIn(PatientFields):
    identifier: Identifier
    name: Name
    body_mass_kg: BodyMassKg | None = Field(default=None, description="Weighed today (kg).")


class PatientPatch(PatientFields):
    identifier: Identifier | None = None
    name: Name | None = None

    @model_validator(mode="after")
    def required_stay_set(self) -> PatientPatch:
        for key in ("identifier", "name"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} cannot be removed")
        return self


class BodyMassIn(ClosedInput):
    mass_kg: BodyMassKg
    measured_on: Day | None = Field(default=None, description="Default: today.")

    @model_validator(mode="after")
    def not_future(self) -> BodyMassIn:
        _not_future(self.measured_on, "measured_on")
        return self


class ComponentIn(ClosedInput):
    kind: ComponentKind
    description: Name = Field(description="Make and model.")
    fitted_on: Day
    removed_on: Day | None = None
    notes: str = Field(default="", max_length=10_000)

    @model_validator(mode="after")
    def dates_in_order(self) -> ComponentIn:
        if self.removed_on is not None and self.removed_on < self.fitted_on:
            raise ValueError("removed_on is before fitted_on")
        return self


class NoteIn(ClosedInput):
    author_role: Author = "therapist"
    text: str = Field(default="", max_length=10_000)
    pain_score: int | None = Field(default=None, ge=0, le=10,
                                   description="0 no pain .. 10 worst imaginable.")
    pain_location: str | None = Field(default=None, max_length=64,
                                      description="Where it hurts (e.g. 'residual limb, distal').")
    session_id: BodyId | None = None
    trial_id: BodyId | None = None
    clinician_id: BodyId | None = None

    @model_validator(mode="after")
    def says_something(self) -> NoteIn:
        if not self.text.strip() and self.pain_score is None:
            raise ValueError("a note needs text or a pain_score")
        if self.pain_location is not None and self.pain_score is None:
            raise ValueError("pain_location needs a pain_score")
        return self


@router.get("", dependencies=READ)
def find_patients(history: History, q: Annotated[str, Query(max_length=200)] = "",
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=MAX_RECORD_ID)] = 0) -> PatientPage:
    """Patients whose name or identifier holds every word of ``q``, by name, one page."""
    return history.find_patients(q, limit, offset)


@router.post("", status_code=201, dependencies=WRITE)
def add_patient(body: PatientIn, history: History, audit: Audit) -> PatientOut:
    fields = body.model_dump(exclude={"identifier", "name", "body_mass_kg"})
    patient = history.add_patient(body.identifier, body.name, body.body_mass_kg, **fields)
    audit("patient.create", {"patient_id": patient.id, "body_mass_kg": body.body_mass_kg})
    return patient


@router.get("/{patient_id}", dependencies=READ)
def patient_detail(patient_id: RecordId, history: History) -> PatientDetail:
    return history.patient_detail(patient_id)


@router.patch("/{patient_id}", dependencies=WRITE)
def update_patient(patient_id: RecordId, body: PatientPatch, history: History, audit: Audit
                   ) -> PatientOut:
    changes = body.model_dump(exclude_unset=True)
    patient = history.update_patient(patient_id, **changes)
    audit("patient.edit", {"patient_id": patient_id, "fields": sorted(changes)})  # no values
    return patient


@router.delete("/{patient_id}", status_code=204, dependencies=WRITE)
def delete_patient(patient_id: RecordId, history: History, audit: Audit) -> Response:
    """Erase the patient and everything that is theirs (sessions, trials, recordings, notes)."""
    history.delete_patient(patient_id)
    audit("patient.erase", {"patient_id": patient_id})
    return Response(status_code=204)


@router.get("/{patient_id}/trials", dependencies=READ)
def patient_trials(patient_id: RecordId, history: History) -> list[TrialSummary]:
    """Every trial of the patient, oldest first, with metrics (to pick two to compare)."""
    return history.patient_trials(patient_id)


@router.post("/{patient_id}/body-masses", status_code=201, dependencies=WRITE)
def add_body_mass(patient_id: RecordId, body: BodyMassIn, history: History, audit: Audit
                  ) -> BodyMassOut:
    mass = history.add_body_mass(patient_id, body.mass_kg, body.measured_on)
    audit("patient.body_mass", {"patient_id": patient_id, "mass_kg": body.mass_kg,
                                "measured_on": mass.measured_on.isoformat()})
    return mass


@router.post("/{patient_id}/components", status_code=201, dependencies=WRITE)
def add_component(patient_id: RecordId, body: ComponentIn, history: History) -> ComponentOut:
    return history.add_component(patient_id, **body.model_dump())


@router.post("/{patient_id}/notes", status_code=201, dependencies=WRITE)
def add_note(patient_id: RecordId, body: NoteIn, history: History) -> NoteOut:
    fields = body.model_dump(exclude={"author_role", "text"})
    return history.add_note(patient_id, body.author_role, body.text, **fields)
