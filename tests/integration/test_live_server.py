"""The live server end to end: virtual boards on ptys -> pyserial -> processing -> websocket."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import numpy as np
import pytest
import websockets

from gaitrig.testing import rig_api
from gaitrig.testing.server import LiveServer, run_async

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "live-message.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())


async def collect(ws_url: str, seconds: float) -> list[dict[str, Any]]:
    """Every message one websocket client receives in ``seconds``, with its arrival time."""
    received: list[dict[str, Any]] = []
    async with websockets.connect(ws_url) as socket:
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                text = await asyncio.wait_for(socket.recv(), remaining)
            except TimeoutError:
                break
            message = json.loads(text)
            message["_received_s"] = time.monotonic()
            received.append(message)
    return received


def test_websocket_rate_and_schema(live_server: str) -> None:
    ws_url = rig_api.live_ws_url(live_server)
    messages = run_async(collect(ws_url, 3.0))
    span_s = messages[-1]["_received_s"] - messages[0]["_received_s"]
    rate_hz = (len(messages) - 1) / span_s
    assert rate_hz >= 30, f"only {rate_hz:.1f} messages per second"
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "states out of order or repeated"
    for message in messages:
        del message["_received_s"]
        jsonschema.validate(message, SCHEMA)
    assert all("left_foot_pct_bw" in m for m in messages)
    devices = messages[-1]["devices"]
    assert sorted(d["role"] for d in devices) == ["bars", "insole_left", "insole_right"]
    assert all(d["connected"] and not d["silent"] and d["crc_errors"] == 0 for d in devices)


def test_quiet_standing_matches_ground_truth(server_factory: Any) -> None:
    """Per-foot % body weight on the live stream within 2 % BW of the virtual rig's truth."""
    live: LiveServer = server_factory(simulate_activity="standing", body_mass_kg=82.0)
    rig = live.controller.virtual_rig
    assert rig is not None
    time.sleep(0.5)
    errors = []
    stale = 0
    while len(errors) < 40:
        state = live.controller.latest
        assert state is not None
        if None in (state["left_foot_pct_bw"], state["right_foot_pct_bw"], state["bars_pct_bw"]):
            # a board silent for 200 ms (a loaded machine) is shown as no signal, never stale
            # numbers: such states are not compared, and must stay rare
            stale += 1
            assert stale <= 40, "most live states had a board without signal"
            time.sleep(0.05)
            continue
        truth = rig.ground_truth(np.array([state["sample_time_s"]]))
        bw_n = 82.0 * 9.80665
        errors.append([state["left_foot_pct_bw"] - 100 * truth.left_foot_n[0] / bw_n,
                       state["right_foot_pct_bw"] - 100 * truth.right_foot_n[0] / bw_n,
                       state["bars_pct_bw"] - 100 * (truth.left_bar_n[0] + truth.right_bar_n[0])
                       / bw_n])
        time.sleep(0.05)
    worst = np.max(np.abs(errors), axis=0)
    assert worst[0] <= 2.0 and worst[1] <= 2.0, f"per-foot error up to {worst[:2]} % BW"
    assert worst[2] <= 2.0, f"bar load error up to {worst[2]} % BW"
    # the truth itself must be a standing patient: both feet loaded, not a trivial zero
    assert 20 < state["left_foot_pct_bw"] < 70 and 20 < state["right_foot_pct_bw"] < 70


def test_garbage_on_the_line_is_counted_and_the_stream_recovers(server_factory: Any) -> None:
    live: LiveServer = server_factory()
    board = live.controller.virtual_rig.boards["insole_left"]  # type: ignore[union-attr]
    link = next(k for k in live.controller.links if k.port == board.port)
    before = link.decoder.counters.frames
    for _ in range(5):
        board.inject(bytes(range(1, 200)))  # no delimiter: glues onto the next frame
        board.inject(b"\x00\x13\x37\x00")  # delimited garbage
        time.sleep(0.05)
    time.sleep(0.3)
    counters = link.decoder.counters
    assert counters.crc_errors >= 5
    assert counters.frames > before + 200, "the stream did not recover after the garbage"
    health = httpx.get(live.url + "/api/health").json()
    assert health["status"] == "ok" and health["boards_connected"] == 3
    devices = {d["port"]: d for d in rig_api.get(live.url + "/api/devices").json()}
    assert devices[board.port]["crc_errors"] == counters.crc_errors >= 5
    age = devices[board.port]["last_frame_age_s"]
    assert age is not None and age < 0.5


def test_trials_api_and_bad_requests(live_server: str) -> None:
    created = rig_api.post(live_server + "/api/trials", json={"exercise": "walking"})
    assert created.status_code == 201
    trial = created.json()
    assert trial["ended_at"] is None and trial["exercise"] == "walking"
    stopped = rig_api.post(f"{live_server}/api/trials/{trial['id']}/stop").json()
    assert stopped["ended_at"] is not None
    assert any(t["id"] == trial["id"] for t in rig_api.get(live_server + "/api/trials").json())
    bad = rig_api.post(live_server + "/api/trials", json={"exercise": "juggling"})
    assert bad.status_code == 422 and "exercise" in bad.text
    assert rig_api.post(live_server + "/api/trials/999999/stop").status_code == 404
    assert rig_api.post(live_server + "/api/trials", content=b"{not json").status_code == 422


def test_simulator_switches_activity(server_factory: Any) -> None:
    live: LiveServer = server_factory(simulate_activity="walking")
    response = rig_api.post(live.url + "/api/simulator/activity", json={"activity": "standing"})
    assert response.status_code == 200
    time.sleep(1.0)
    samples = []
    for _ in range(20):
        state = live.controller.latest
        assert state is not None
        samples.append(min(state["left_foot_pct_bw"], state["right_foot_pct_bw"]))
        time.sleep(0.05)
    assert min(samples) > 15, "standing: both feet stay loaded"


@pytest.mark.parametrize("slow_clients", [1])
def test_a_client_that_stops_reading_does_not_slow_the_others(live_server: str,
                                                              slow_clients: int) -> None:
    ws_url = rig_api.live_ws_url(live_server)

    async def scenario() -> list[dict[str, Any]]:
        stalled = [await websockets.connect(ws_url, max_size=2**20) for _ in range(slow_clients)]
        try:
            await asyncio.sleep(1.0)  # they never call recv()
            return await collect(ws_url, 2.0)
        finally:
            for socket in stalled:
                await socket.close()

    messages = run_async(scenario())
    rate_hz = (len(messages) - 1) / (messages[-1]["_received_s"] - messages[0]["_received_s"])
    assert rate_hz >= 30


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "deflate"])
def test_screens_are_served_by_the_hub_directly_unless_compressed(server_factory: Any,
                                                                  compression: bool) -> None:
    """The hub writes each state to a plain connection itself (gaitrig.web_ui.live.connection); a
    compressed one (GAITRIG_LIVE_COMPRESSION) is served by its own task. Both get every state
    in order, whole, as JSON."""
    live: LiveServer = server_factory(live_compression=compression)
    hub = live.server.config.loaded_app.app.state.hub  # type: ignore[attr-defined]

    async def scenario() -> tuple[list[dict[str, Any]], bool, int]:
        async with websockets.connect(live.ws_url, compression="deflate") as ws:
            messages = [json.loads(await asyncio.wait_for(ws.recv(), 2.0)) for _ in range(30)]
            return messages, bool(ws.protocol.extensions), len(hub.direct_clients)

    messages, compressed, direct = run_async(scenario())
    assert compressed == compression
    assert direct == (0 if compression else 1)
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(set(seqs)) and all(m["type"] == "live" for m in messages)
    assert all("left_foot_pct_bw" in m for m in messages)


def test_uvicorn_without_the_parts_the_adapter_uses_falls_back_with_one_warning(
        server_factory: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The start-up self-check of gaitrig.web_ui.live.connection: a uvicorn whose websocket
    protocol lacks a part the adapter reads runs its own protocol instead; the screens still get
    every state, each client from a task of its own (the hub writes to none directly)."""
    from gaitrig.web_ui.live import connection

    assert connection.adapter_problem() is None  # the uvicorn installed: the adapter fits
    assert connection.websocket_options(False)["ws"] is connection.LiveWebSocketProtocol
    monkeypatch.setattr(connection, "USED_ATTRIBUTES",
                        (*connection.USED_ATTRIBUTES, "a_part_a_later_release_dropped"))
    connection._adapter_fits.cache_clear()
    try:
        with caplog.at_level("WARNING", logger=connection.__name__):
            assert connection.websocket_options(False)["ws"] == "websockets-sansio"
            assert connection.websocket_options(True)["ws"] == "websockets-sansio"
            live: LiveServer = server_factory()
        warnings = [r for r in caplog.records if "a_part_a_later_release_dropped" in r.message]
        assert len(warnings) == 1, [r.message for r in caplog.records]
        hub = live.server.config.loaded_app.app.state.hub  # type: ignore[attr-defined]

        async def scenario() -> tuple[list[dict[str, Any]], int]:
            async with websockets.connect(live.ws_url) as ws:
                messages = [json.loads(await asyncio.wait_for(ws.recv(), 2.0))
                            for _ in range(30)]
                return messages, len(hub.direct_clients)

        messages, direct = run_async(scenario())
        assert direct == 0
        seqs = [m["seq"] for m in messages]
        assert seqs == sorted(set(seqs)) and all(m["type"] == "live" for m in messages)
    finally:
        connection._adapter_fits.cache_clear()
