"""The FastAPI application: pages, REST API (one router per resource) and the live websocket.

Every route declares its permission (gaitrig.web_ui.auth); the app refuses to build otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from gaitrig.rig.access.accounts import Accounts, Clock, utc_now
from gaitrig.rig.access.audit import AuditLog
from gaitrig.rig.access.display_links import DisplayLinks
from gaitrig.rig.access.login_sessions import LoginSessions
from gaitrig.rig.live.board_source import BoardSource
from gaitrig.rig.live.controller import RigController
from gaitrig.rig.records import Records
from gaitrig.rig.settings import Settings
from gaitrig.web_ui.api_input import validation_refused
from gaitrig.web_ui.auth import (
    AuthServices,
    LoginRequiredError,
    NoStoreMiddleware,
    PublicStaticFiles,
    check_every_route_declares,
    login_redirect,
)
from gaitrig.web_ui.clinic_api import include_clinic_records
from gaitrig.web_ui.headers import SecurityHeadersMiddleware
from gaitrig.web_ui.live import route as live
from gaitrig.web_ui.live.hub import LiveHub
from gaitrig.web_ui.routers import (
    api_docs,
    audit,
    auth,
    console,
    display_links,
    pages,
    rig_status,
    trials,
)
from gaitrig.web_ui.routers.pages import STATIC

#: How often the display link is read again from the database (s).
DISPLAY_LINK_REFRESH_S = 1.0


def auth_services(records: Records, settings: Settings, clock: Clock) -> AuthServices:
    return AuthServices(Accounts(records, clock), LoginSessions(clock, records),
                        DisplayLinks(records, settings.rig_id, clock),
                        AuditLog(records, settings.rig_id, clock),
                        secure_cookies=settings.tls_certfile is not None)


async def refresh_display_links(auth: AuthServices) -> None:
    """Pick up display links another process issued or revoked (at most 1 s late)."""
    while True:
        await asyncio.sleep(DISPLAY_LINK_REFRESH_S)
        await asyncio.to_thread(auth.display_links.refresh)


def create_app(settings: Settings | None = None, clock: Clock = utc_now,
               source: BoardSource | None = None) -> FastAPI:
    """The app; ``clock`` (UTC) is what logins, lockouts, sessions and the audit log read;
    ``source``: where the boards come from (``gaitrig.cli.sources.board_source``; None: the
    serial ports of ``settings``)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        hub: LiveHub = app.state.hub

        def publish(text: str, urgent: bool = False) -> None:
            loop.call_soon_threadsafe(hub.publish, text, urgent)

        records = Records.open(settings.resolved_database_url(), settings.migrate_on_start)
        app.state.auth = auth_state = auth_services(records, settings, clock)
        await asyncio.to_thread(auth_state.display_links.refresh)
        controller = RigController(settings, publish, records, source)
        await asyncio.to_thread(controller.start)
        app.state.records, app.state.controller = records, controller
        refresher = asyncio.create_task(refresh_display_links(auth_state))
        try:
            yield
        finally:
            refresher.cancel()
            await asyncio.to_thread(controller.stop)
            records.close()

    # FastAPI's own /docs and /openapi.json would declare no permission: ours do (routers.auth).
    app = FastAPI(title="gaitrig", version="0.1.0", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.hub = LiveHub(settings.live_update_hz)
    app.mount("/static", PublicStaticFiles(directory=STATIC), name="static")
    for module in (pages, auth, api_docs, rig_status, trials, console, live, display_links,
                   audit):
        app.include_router(module.router)
    include_clinic_records(app)
    app.add_exception_handler(LoginRequiredError, login_redirect)
    app.add_exception_handler(RequestValidationError, validation_refused)
    app.add_middleware(NoStoreMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    check_every_route_declares(app)
    return app
