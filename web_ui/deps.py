"""Dependencies shared by the routers: the rig controller, the clinic records, the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rig.controller import RigController
from rig.history import ClinicHistory
from rig.records import Records
from rig.settings import Settings


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
