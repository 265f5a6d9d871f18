"""Clinicians: the therapists and prosthetists who run sessions and write notes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from rig.history import ClinicianOut
from web_ui.api_input import ClosedInput
from web_ui.deps import History

router = APIRouter(prefix="/api/clinicians", tags=["clinicians"])


class ClinicianIn(ClosedInput):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    role: Literal["physiotherapist", "prosthetist", "physician", "assistant"] = "physiotherapist"


@router.get("")
def list_clinicians(history: History) -> list[ClinicianOut]:
    return history.list_clinicians()


@router.post("", status_code=201)
def add_clinician(body: ClinicianIn, history: History) -> ClinicianOut:
    return history.add_clinician(body.name, body.role)
