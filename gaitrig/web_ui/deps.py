"""Dependencies shared by the routers: the rig controller, the clinic records, the settings, the
authentication services and the audit trail of the calling clinician."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gaitrig.rig.access.audit import AuditLog
from gaitrig.rig.clinic.history import ClinicHistory
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings
from gaitrig.web_ui.auth import AuthServices, Caller, identify, services


def get_controller(request: Request) -> RigController:
    controller: RigController = request.app.state.controller
    return controller


def get_records(request: Request) -> Records:
    records: Records = request.app.state.records
    return records


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Controller = Annotated[RigController, Depends(get_controller)]
ClinicRecords = Annotated[Records, Depends(get_records)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def get_history(request: Request) -> ClinicHistory:
    """The clinic's records as the history pages and the REST API use them."""
    return ClinicHistory(get_records(request))


History = Annotated[ClinicHistory, Depends(get_history)]


Auth = Annotated[AuthServices, Depends(services)]


class AuditTrail:
    """Records a change in the audit log as done by the calling clinician."""

    def __init__(self, log: AuditLog, caller: Caller) -> None:
        self.log, self.caller = log, caller

    def __call__(self, action: str, details: dict[str, Any]) -> None:
        self.log.record(self.caller.clinician_id, action, details)


def get_audit_trail(request: Request) -> AuditTrail:
    return AuditTrail(services(request).audit, identify(request))


Audit = Annotated[AuditTrail, Depends(get_audit_trail)]
