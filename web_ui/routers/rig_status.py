"""Health, the boards, the newest live state, and the virtual patient."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from rig.permissions import Permission
from rig.settings import SimulatedActivity
from web_ui.api_input import ApiInput
from web_ui.auth import requires
from web_ui.deps import AppSettings, ClinicRecords, Controller

router = APIRouter(prefix="/api", tags=["rig"])
OPEN, CONTROL = [requires(Permission.PUBLIC)], [requires(Permission.CONTROL_RIG)]


class SimulatedActivityIn(ApiInput):
    activity: SimulatedActivity


@router.get("/health", dependencies=OPEN)
def health(controller: Controller, records: ClinicRecords, settings: AppSettings
           ) -> dict[str, Any]:
    return {
        "status": "ok",
        "rig_id": settings.rig_id,
        "simulate": settings.simulate,
        "database": records.backend,
        "boards_connected": sum(link.connected for link in controller.links),
        "boards": len(controller.links),
    }


@router.get("/devices", dependencies=CONTROL)
def devices(controller: Controller) -> list[dict[str, Any]]:
    """Each board: connection, rate (Hz), last-frame age (s), clock drift (ppm), counters."""
    return controller.device_status()


@router.get("/live", dependencies=CONTROL)
def live(controller: Controller) -> dict[str, Any]:
    """The newest live state (the same message the websocket sends)."""
    if controller.latest is None:
        raise HTTPException(503, "no live state yet: the rig is starting")
    return controller.latest


@router.post("/simulator/activity", dependencies=CONTROL)
def simulator_activity(body: SimulatedActivityIn, controller: Controller) -> dict[str, str]:
    """Make the virtual patient walk, stand or shift weight (virtual rig only)."""
    if controller.virtual_rig is None:
        raise HTTPException(409, "the server runs real boards, not the virtual rig")
    controller.virtual_rig.set_activity(body.activity)
    return {"activity": body.activity}
