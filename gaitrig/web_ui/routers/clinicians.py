"""Clinicians: the therapists and prosthetists who run sessions and write notes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.clinic.history import ClinicianOut
from gaitrig.web_ui.api_input import ClosedInput
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import History

router = APIRouter(prefix="/api/clinicians", tags=["clinicians"])
READ, WRITE = [requires(Permission.VIEW_RECORDS)], [requires(Permission.EDIT_RECORDS)]


class ClinicianIn(ClosedInput):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    role: Literal["physiotherapist", "prosthetist", "physician", "assistant"] = "physiotherapist"


@router.get("", dependencies=READ)
def list_clinicians(history: History) -> list[ClinicianOut]:
    return history.list_clinicians()


@router.post("", status_code=201, dependencies=WRITE)
def add_clinician(body: ClinicianIn, history: History) -> ClinicianOut:
    return history.add_clinician(body.name, body.role)
