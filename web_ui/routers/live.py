"""The live websocket: each client always gets the newest state (web_ui.hub).

A client that does not take a message within ``live_send_timeout_s`` is dropped: it has stopped
reading, and holding the connection open would only hold memory for it (web_ui.live_connection).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from rig.settings import Settings
from web_ui.hub import LiveHub

router = APIRouter()
log = logging.getLogger(__name__)


@router.websocket("/ws/live")
async def live_socket(websocket: WebSocket) -> None:
    hub: LiveHub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    await websocket.accept()
    hub.clients += 1
    version, published_s = 0, 0.0
    try:
        while True:
            version, text, published_s = await hub.next_after(version, published_s)
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
