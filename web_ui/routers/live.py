"""The live websocket: each client always gets the newest state (web_ui.hub)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from web_ui.hub import LiveHub

router = APIRouter()


@router.websocket("/ws/live")
async def live_socket(websocket: WebSocket) -> None:
    hub: LiveHub = websocket.app.state.hub
    await websocket.accept()
    hub.clients += 1
    version, published_s = 0, 0.0
    try:
        while True:
            version, text, published_s = await hub.next_after(version, published_s)
            await websocket.send_text(text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.clients -= 1
