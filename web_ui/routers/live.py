"""The live websocket: each client always gets the newest state (web_ui.hub).

A client that does not take a message within ``live_send_timeout_s`` is dropped: it has stopped
reading, and holding the connection open would only hold memory for it (web_ui.live_connection).

Who may watch: a logged-in clinician (session cookie) or the rig's display (``?token=``). A
display's token is checked again every :data:`TOKEN_RECHECK_S` (the copy in memory of
rig.display_links: no waiting on the database): once it is revoked, the stream ends (close code
1008) and reconnecting is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect, status

from rig.permissions import Permission
from rig.settings import Settings
from web_ui.auth import Caller, Requires, services
from web_ui.hub import LiveHub

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
    display_links = services(websocket).display_links
    await websocket.accept()
    hub.clients += 1
    version, published_s = 0, 0.0
    recheck_at = time.monotonic() + TOKEN_RECHECK_S
    try:
        while True:
            version, text, published_s = await hub.next_after(version, published_s)
            if caller.display_token is not None and time.monotonic() >= recheck_at:
                recheck_at = time.monotonic() + TOKEN_RECHECK_S
                if not display_links.accepts(caller.display_token):  # memory: no waiting
                    await websocket.close(status.WS_1008_POLICY_VIOLATION,
                                          "the display link was revoked")
                    return
            try:  # a deadline on this send (no task per message, unlike asyncio.wait_for)
                async with asyncio.timeout(settings.live_send_timeout_s):
                    await websocket.send_text(text)
            except TimeoutError:
                hub.dropped_clients += 1
                log.warning("live client %s took no message for %.1f s: dropped",
                            websocket.client.host if websocket.client else "?",
                            settings.live_send_timeout_s)
                return
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.clients -= 1
