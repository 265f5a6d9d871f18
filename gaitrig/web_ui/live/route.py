"""The live websocket: each client always gets the newest state (gaitrig.web_ui.live.hub).

``rig serve``'s connections are served directly by the hub (gaitrig.web_ui.live.connection); any
other (a compressed connection, a test client) by a task of its own.

A client that does not take a message within ``live_send_timeout_s`` is dropped: it has stopped
reading, and holding the connection open would only hold memory for it
(gaitrig.web_ui.live.connection).

Who may watch: a logged-in clinician (session cookie) or the rig's display (``?token=``). A
display's token is checked again every :data:`TOKEN_RECHECK_S` (the copy in memory of
gaitrig.rig.access.display_links: no waiting on the database): once it is revoked, the stream ends
(close code 1008) and reconnecting is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect, status

from gaitrig.rig.access.display_links import DisplayLinks
from gaitrig.rig.access.permissions import Permission
from gaitrig.rig.settings import Settings
from gaitrig.web_ui.auth import Caller, Requires, services
from gaitrig.web_ui.live.connection import DIRECT_SEND, DirectSender
from gaitrig.web_ui.live.hub import LiveHub

router = APIRouter()
log = logging.getLogger(__name__)
#: How often an open display's token is checked again (s).
TOKEN_RECHECK_S = 1.0


@router.websocket("/ws/live")
async def live_socket(websocket: WebSocket,
                      caller: Annotated[Caller, Depends(Requires(Permission.WATCH_LIVE))]
                      ) -> None:
    hub: LiveHub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    watch = Watch(websocket, caller, services(websocket).display_links, settings)
    await websocket.accept()
    hub.clients += 1
    try:
        direct: DirectSender | None = websocket.scope.get("extensions", {}).get(DIRECT_SEND)
        if direct is not None and direct.usable:
            await serve_direct(hub, watch, direct)
        else:
            await serve_by_task(hub, watch)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.clients -= 1


class Watch:
    """What both ways of serving a client check: the display token, the send timeout."""

    def __init__(self, websocket: WebSocket, caller: Caller, display_links: DisplayLinks,
                 settings: Settings) -> None:
        self.websocket, self.caller, self.display_links = websocket, caller, display_links
        self.send_timeout_s = settings.live_send_timeout_s
        self.recheck_at = time.monotonic() + TOKEN_RECHECK_S

    async def token_revoked(self) -> bool:
        """A display whose link was revoked is closed (1008); True then. Checked at most every
        :data:`TOKEN_RECHECK_S`, on the copy in memory (no waiting on the database)."""
        token = self.caller.display_token
        if token is None or time.monotonic() < self.recheck_at:
            return False
        self.recheck_at = time.monotonic() + TOKEN_RECHECK_S
        if self.display_links.accepts(token):
            return False
        await self.websocket.close(status.WS_1008_POLICY_VIOLATION, "the display link was revoked")
        return True

    def dropped(self, hub: LiveHub) -> None:
        hub.dropped_clients += 1
        client = self.websocket.client
        log.warning("live client %s took no message for %.1f s: dropped",
                    client.host if client else "?", self.send_timeout_s)


async def serve_direct(hub: LiveHub, watch: Watch, direct: DirectSender) -> None:
    """The hub writes each state to this connection itself; here only the checks run, and the
    wait for the client to leave (the live stream takes no messages from it)."""
    client = hub.add_direct(direct)
    try:
        while True:
            try:
                async with asyncio.timeout(TOKEN_RECHECK_S):
                    if (await watch.websocket.receive())["type"] == "websocket.disconnect":
                        return
            except TimeoutError:
                pass
            if await watch.token_revoked():
                return
            behind_since_s = direct.behind_since_s
            if behind_since_s is not None and (
                    time.monotonic() - behind_since_s > watch.send_timeout_s):
                watch.dropped(hub)
                direct.abort()
                return
    finally:
        hub.remove_direct(client)


async def serve_by_task(hub: LiveHub, watch: Watch) -> None:
    """This task sends each newest state through the ASGI layers (any ASGI server)."""
    version, published_s = 0, 0.0
    while True:
        version, text, published_s = await hub.next_after(version, published_s)
        if await watch.token_revoked():
            return
        try:  # a deadline on this send (no task per message, unlike asyncio.wait_for)
            async with asyncio.timeout(watch.send_timeout_s):
                await watch.websocket.send_text(text)
        except TimeoutError:
            watch.dropped(hub)
            return
