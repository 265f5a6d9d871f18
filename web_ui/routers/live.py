"""The live websocket: each client always gets the newest state (web_ui.hub)."""

from __future__ import annotations

import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from web_ui.hub import LiveHub

router = APIRouter()


@router.websocket("/ws/live")
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
