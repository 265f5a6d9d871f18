"""The FastAPI application: pages, REST API (one router per resource) and the live websocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rig.controller import RigController
from rig.records import Records
from rig.settings import Settings
from web_ui.clinic_api import include_clinic_records
from web_ui.hub import LiveHub
from web_ui.routers import console, live, pages, rig_status, trials
from web_ui.routers.pages import STATIC


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        hub: LiveHub = app.state.hub

        def publish(text: str, urgent: bool = False) -> None:
            loop.call_soon_threadsafe(hub.publish, text, urgent)

        records = Records.open(settings.resolved_database_url(), settings.migrate_on_start)
        controller = RigController(settings, publish, records)
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
    for module in (pages, rig_status, trials, console, live):
        app.include_router(module.router)
    include_clinic_records(app)
    return app
