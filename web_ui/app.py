"""The FastAPI application: pages, REST API and the live websocket."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from rig.controller import RigController
from rig.records import Records, TrialOut
from rig.settings import Settings
from web_ui.hub import LiveHub

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")


class TrialStart(BaseModel):
    exercise: Literal["walking", "standing", "weight_shift"] = Field(
        description="The exercise the trial records.")


class SimulatedActivity(BaseModel):
    activity: Literal["walking", "standing", "weight_shift"]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        hub: LiveHub = app.state.hub

        def publish(text: str) -> None:
            loop.call_soon_threadsafe(hub.publish, text)

        records = Records.open(settings.resolved_database_url())
        controller = RigController(settings, publish)
        await asyncio.to_thread(controller.start)
        app.state.records, app.state.controller = records, controller
        try:
            yield
        finally:
            await asyncio.to_thread(controller.stop)
            records.close()

    app = FastAPI(title="gaitrig", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.hub = LiveHub(settings.live_update_hz)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/console")

    @app.get("/display", include_in_schema=False)
    def display_page() -> FileResponse:
        """The patient's screen in front of the bars."""
        return FileResponse(STATIC / "display.html")

    @app.get("/console", include_in_schema=False)
    def console_page() -> FileResponse:
        """The therapist's tablet."""
        return FileResponse(STATIC / "console.html")

    @app.get("/api/health")
    def health(request: Request) -> dict[str, Any]:
        controller: RigController = request.app.state.controller
        return {
            "status": "ok",
            "rig_id": settings.rig_id,
            "simulate": settings.simulate,
            "database": request.app.state.records.backend,
            "boards_connected": sum(link.connected for link in controller.links),
            "boards": len(controller.links),
        }

    @app.get("/api/devices")
    def devices(request: Request) -> list[dict[str, Any]]:
        """Each board: connection, rate (Hz), last-frame age (s) and link counters."""
        return request.app.state.controller.device_status()  # type: ignore[no-any-return]

    @app.get("/api/live")
    def live(request: Request) -> dict[str, Any]:
        """The newest live state (the same message the websocket sends)."""
        state = request.app.state.controller.latest
        if state is None:
            raise HTTPException(503, "no live state yet: the rig is starting")
        return state  # type: ignore[no-any-return]

    @app.post("/api/trials", status_code=201)
    def start_trial(body: TrialStart, request: Request) -> TrialOut:
        return request.app.state.records.start_trial(  # type: ignore[no-any-return]
            settings.rig_id, body.exercise)

    @app.post("/api/trials/{trial_id}/stop")
    def stop_trial(trial_id: int, request: Request) -> TrialOut:
        trial = request.app.state.records.stop_trial(trial_id)
        if trial is None:
            raise HTTPException(404, f"no trial {trial_id}")
        return trial  # type: ignore[no-any-return]

    @app.get("/api/trials")
    def trials(request: Request) -> list[TrialOut]:
        return request.app.state.records.list_trials()  # type: ignore[no-any-return]

    @app.post("/api/simulator/activity")
    def simulator_activity(body: SimulatedActivity, request: Request) -> dict[str, str]:
        """Make the virtual patient walk, stand or shift weight (virtual rig only)."""
        rig = request.app.state.controller.virtual_rig
        if rig is None:
            raise HTTPException(409, "the server runs real boards, not the virtual rig")
        rig.set_activity(body.activity)
        return {"activity": body.activity}

    @app.websocket("/ws/live")
    async def live_socket(websocket: WebSocket) -> None:
        hub: LiveHub = websocket.app.state.hub
        await websocket.accept()
        hub.clients += 1
        version, sent_at = 0, 0.0
        try:
            while True:
                version, text = await hub.next_after(version, sent_at)
                await websocket.send_text(text)
                sent_at = time.monotonic()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.clients -= 1

    return app
