"""Health, the boards, the newest live state, and the virtual patient."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import Field

from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.settings import SimulatedActivity
from gaitrig.sim.source import VirtualBoards
from gaitrig.web_ui.api_input import ApiInput
from gaitrig.web_ui.auth import requires
from gaitrig.web_ui.deps import AppSettings, ClinicRecords, Controller

router = APIRouter(prefix="/api", tags=["rig"])
OPEN, CONTROL = [requires(Permission.PUBLIC)], [requires(Permission.CONTROL_RIG)]


class SimulatedActivityIn(ApiInput):
    activity: SimulatedActivity
    follows_instructions: bool | None = Field(
        default=None, description="Does the virtual patient take the posture the insole "
        "calibration asks for (default: it does)? false: it keeps doing ``activity``.")


class SimulatedWeightIn(ApiInput):
    post: int = Field(ge=0, le=3, description="0 left front, 1 left rear, 2 right front, "
                                              "3 right rear.")
    mass_kg: float = Field(ge=0, le=200, description="kg; 0 takes the weight off.")


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
        # this start of the server (random, no secret): a console whose login is gone can still
        # tell that the server restarted
        "server_instance": controller.server_instance,
        "trials_interrupted_at_start": len(controller.interrupted_trial_ids),
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
    source = controller.source
    if not isinstance(source, VirtualBoards) or source.virtual_rig is None:
        raise HTTPException(409, "the server runs real boards, not the virtual rig")
    source.virtual_rig.set_activity(body.activity)
    if body.follows_instructions is not None:
        source.follows_postures = body.follows_instructions
    return {"activity": body.activity}


@router.post("/simulator/weight", dependencies=CONTROL)
def simulator_weight(body: SimulatedWeightIn, controller: Controller) -> dict[str, Any]:
    """Rest a known weight on one bar post of the virtual rig (its known-weight calibration);
    0 kg takes it off."""
    if controller.virtual_rig is None:
        raise HTTPException(409, "the server runs real boards, not the virtual rig")
    controller.virtual_rig.place_weight(body.post, body.mass_kg)
    return body.model_dump()
