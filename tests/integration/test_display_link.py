"""The patient display's link: a per-rig token that only watches the live stream, shows no
more identity than the display name, and stops working the moment it is revoked or renewed."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, run_async

FULL_NAME, IDENTIFIER = "Theodora Quennell-Abara", "MRN-5521"


async def first_messages(ws_url: str, count: int) -> list[dict[str, Any]]:
    async with websockets.connect(ws_url) as socket:
        return [json.loads(await socket.recv()) for _ in range(count)]


async def closed_after_revoke(ws_url: str, revoke: Any) -> tuple[int | None, float]:
    """Watch, revoke meanwhile; the close code and how long the stream went on (s)."""
    async with websockets.connect(ws_url) as socket:
        await socket.recv()
        await asyncio.to_thread(revoke)
        revoked_at = time.monotonic()
        try:
            while True:
                await asyncio.wait_for(socket.recv(), timeout=10)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            return code, time.monotonic() - revoked_at


def test_display_sees_the_display_name_only(server_factory: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="walking")
    patient = rig_api.post(live.url + "/api/patients", json={"identifier": IDENTIFIER,
                                                             "name": FULL_NAME})
    assert patient.status_code == 201
    assert rig_api.put(live.url + "/api/rig/patient", json={
        "display_name": "Theo", "body_mass_kg": 64.0, "prosthetic_side": "right",
        "patient_id": patient.json()["id"]}).status_code == 200
    messages = run_async(first_messages(live.ws_url, 20))
    text = json.dumps(messages)
    assert messages[-1]["patient"]["display_name"] == "Theo"
    assert "Quennell" not in text and "Theodora" not in text and IDENTIFIER not in text
    assert '"patient_id"' not in text


def test_revoking_cuts_the_open_display_and_refuses_it_after(server_factory: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="walking")
    ws_url = live.ws_url
    token = ws_url.split("token=", 1)[1]
    assert httpx.get(f"{live.url}/display", params={"token": token}).status_code == 200

    def revoke() -> None:
        assert rig_api.delete(live.url + "/api/display-link").status_code == 204

    code, after_s = run_async(closed_after_revoke(ws_url, revoke))
    assert code == 1008 and after_s < 3.0, (code, after_s)
    with pytest.raises(InvalidStatus) as refused:
        run_async(first_messages(ws_url, 1))
    assert refused.value.response.status_code == 403
    assert httpx.get(f"{live.url}/display", params={"token": token}).status_code == 403
    assert rig_api.get(live.url + "/api/display-link").json() == {"token": None, "url": None}

    issued = rig_api.post(live.url + "/api/display-link").json()
    assert issued["token"] != token and issued["url"].endswith(f"/display?token={issued['token']}")
    renewed_ws = ws_url.replace(token, issued["token"])
    assert run_async(first_messages(renewed_ws, 1))[0]["type"] == "live"
    assert rig_api.post(live.url + "/api/display-link").json()["token"] != issued["token"]
    with pytest.raises(InvalidStatus):  # renewing revokes the one before
        run_async(first_messages(renewed_ws, 1))


def test_console_session_watches_without_a_token_but_not_from_another_site(
        server_factory: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="walking")
    cookie = rig_api.client(live.url).cookies["gaitrig_session"]
    plain = live.url.replace("http://", "ws://") + "/ws/live"
    headers = {"Cookie": f"gaitrig_session={cookie}"}

    async def watch(origin: str) -> dict[str, Any]:
        async with websockets.connect(plain, additional_headers=headers,
                                      origin=origin) as socket:  # type: ignore[arg-type]
            message: dict[str, Any] = json.loads(await socket.recv())
            return message

    assert run_async(watch(live.url))["type"] == "live"
    with pytest.raises(InvalidStatus):
        run_async(watch("http://evil.example"))
    with pytest.raises(InvalidStatus):
        run_async(first_messages(plain, 1))  # no cookie, no token


@pytest.mark.browser
def test_the_display_link_opens_the_display_in_a_browser_without_login(
        server_factory: Any, chromium_browser: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="walking")
    link = rig_api.display_url(live.url)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(link)
        page.wait_for_selector('#display[data-connection="live"]', timeout=20_000)
        assert context.cookies() == []  # no login: the token alone
        page.goto(live.url + "/console")  # the display link does not open the console
        assert page.url.startswith(live.url + "/login?next=")
        assert rig_api.delete(live.url + "/api/display-link").status_code == 204
        answer = page.goto(link)
        assert answer is not None and answer.status == 403
        assert "not valid" in page.inner_text("body")
    finally:
        context.close()
