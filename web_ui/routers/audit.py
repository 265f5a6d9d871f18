"""The audit log (administrators only): who changed targets, patients, calibrations, when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from rig.audit import AuditEventOut
from rig.permissions import Permission
from web_ui.api_input import MAX_RECORD_ID
from web_ui.auth import requires
from web_ui.deps import Auth

router = APIRouter(prefix="/api/audit", tags=["audit"],
                   dependencies=[requires(Permission.VIEW_AUDIT)])


@router.get("")
def audit_events(auth: Auth, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0, le=MAX_RECORD_ID)] = 0
                 ) -> list[AuditEventOut]:
    """The newest changes first: ``clinician_id``, ``at`` (UTC), ``action``, ``details``."""
    return auth.audit.newest(limit, offset)
