"""The audit log (administrators only): who changed targets, patients, calibrations, when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gaitrig.rig.access.audit import AuditEventOut
from gaitrig.rig.access.permissions import Permission
from gaitrig.web_ui.api_input import MAX_RECORD_ID
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import Auth

router = APIRouter(prefix="/api/audit", tags=["audit"],
                   dependencies=[requires(Permission.VIEW_AUDIT)])


@router.get("")
def audit_events(auth: Auth, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                 offset: Annotated[int, Query(ge=0, le=MAX_RECORD_ID)] = 0
                 ) -> list[AuditEventOut]:
    """The newest changes first: ``clinician_id``, ``at`` (UTC), ``action``, ``details``."""
    return auth.audit.newest(limit, offset)
