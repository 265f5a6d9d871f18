"""Every route of the app declares its permission, and callers without it are refused.

The routes are enumerated from the app itself (``app.routes``, flattened with the routers'
prefixes and dependencies: pages, REST operations, the websocket, the static mount), so a
route added later is checked too, and one that declares no permission fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from gaitrig.rig.access.permissions import DISPLAY_PERMISSIONS, ROLE_PERMISSIONS, Permission
from gaitrig.rig.settings import Settings
from gaitrig.testing import rig_api
from gaitrig.web_ui.app import create_app
from gaitrig.web_ui.auth import check_every_route_declares, declared, describe, every_route

SAMPLE_PATH_VALUES = {"rig_id": "rig-1", "phase": "both"}
REFUSED = {401, 403}


@pytest.fixture(scope="module")
def app_and_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    tmp = tmp_path_factory.mktemp("routes")
    url = f"sqlite:///{tmp / 'gaitrig.sqlite3'}"
    app = create_app(Settings(database_url=url, simulate=False, devices=False, data_dir=tmp))
    with TestClient(app) as admin:
        rig_api.ensure_account(url)
        rig_api.ensure_account(url, "therapist", rig_api.PASSWORD, role="therapist")
        token = rig_api.log_in(admin).post("/api/display-link").json()["token"]
        yield app, token


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "1"), path)


def http_routes(app: Any) -> list[tuple[str, str, Any]]:
    found = []
    for route in every_route(app):
        if isinstance(route.original_route, Mount) or not route.methods:
            continue
        for method in sorted(set(route.methods) - {"HEAD"}):
            found.append((method, concrete(route.path), declared(route)))
    return found


def test_every_route_declares_a_permission(app_and_token: tuple[Any, str]) -> None:
    app, _ = app_and_token
    routes = every_route(app)
    undeclared = [describe(route) for route in routes if declared(route) is None]
    assert undeclared == []
    kinds = {type(route.original_route).__name__ for route in routes}
    assert {"APIRoute", "APIWebSocketRoute", "Mount"} <= kinds, kinds  # all were enumerated
    assert len(http_routes(app)) >= 60


def test_a_route_without_a_permission_is_refused_at_build_time(
        app_and_token: tuple[Any, str]) -> None:
    app = create_app(Settings(simulate=False))

    @app.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/api/forgotten"):
        check_every_route_declares(app)
    assert any(declared(r) is None for r in every_route(app))  # the test above would fail


def test_anonymous_callers_are_refused_except_on_public_routes(
        app_and_token: tuple[Any, str]) -> None:
    app, _ = app_and_token
    with TestClient(app, follow_redirects=False) as anonymous:
        for method, path, needs in http_routes(app):
            answer = anonymous.request(method, path, json={})
            where = f"{method} {path} ({needs})"
            if needs.permission is Permission.PUBLIC:
                assert answer.status_code not in REFUSED, where
            elif needs.page:
                assert answer.status_code == 303, where
                assert answer.headers["location"].startswith("/login?next="), where
            else:
                assert answer.status_code == 401, where
                assert "log in" in answer.json()["detail"], where
        assert anonymous.get("/api/health").json()["status"] == "ok"  # Docker's healthcheck
        assert anonymous.get("/static/rest.js").status_code == 200  # the login page needs it
        with pytest.raises(WebSocketDisconnect) as refused, \
                anonymous.websocket_connect("/ws/live"):
            pass
        assert refused.value.code == 1008


def test_a_display_token_only_watches(app_and_token: tuple[Any, str]) -> None:
    app, token = app_and_token
    with TestClient(app, follow_redirects=False) as display:
        for method, path, needs in http_routes(app):
            answer = display.request(method, path, params={"token": token}, json={})
            where = f"{method} {path} ({needs})"
            if needs.permission in DISPLAY_PERMISSIONS:
                assert answer.status_code not in REFUSED, where
            else:
                assert answer.status_code == 403, where
        assert display.get("/display", params={"token": token}).status_code == 200
        with display.websocket_connect(f"/ws/live?token={token}") as socket:
            assert socket.receive_json()["type"] == "live"
        with pytest.raises(WebSocketDisconnect), \
                display.websocket_connect("/ws/live?token=not-the-token"):
            pass
        wrong = display.get("/display", params={"token": "not-the-token"})
        assert wrong.status_code == 403 and "not valid" in wrong.json()["detail"]


def test_roles_and_csrf_on_every_state_changing_route(app_and_token: tuple[Any, str]) -> None:
    app, _ = app_and_token
    with TestClient(app, follow_redirects=False) as therapist:
        rig_api.log_in(therapist, "therapist")
        csrf = therapist.headers.pop("X-CSRF-Token")
        changing = [(m, p, n) for m, p, n in http_routes(app) if m not in ("GET", "HEAD")
                    and n.permission is not Permission.PUBLIC]
        assert len(changing) >= 20
        for method, path, _needs in changing:  # no CSRF header: refused before anything runs
            answer = therapist.request(method, path, json={})
            assert answer.status_code == 403, f"{method} {path}"
            assert "X-CSRF-Token" in answer.json()["detail"]
            wrong = therapist.request(method, path, json={}, headers={"X-CSRF-Token": "x"})
            assert wrong.status_code == 403, f"{method} {path}"
        therapist.headers["X-CSRF-Token"] = csrf
        for method, path, needs in http_routes(app):
            if needs.permission not in ROLE_PERMISSIONS["therapist"]:
                answer = therapist.request(method, path)
                assert answer.status_code == 403, f"{method} {path}"
                assert "therapist" in answer.json()["detail"]
        assert therapist.get("/api/audit").status_code == 403  # admins only
        assert therapist.get("/api/session").json()["role"] == "therapist"


def test_pages_redirect_to_the_login_page_and_it_needs_no_login(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                              simulate=False, devices=False, data_dir=tmp_path))
    with TestClient(app, follow_redirects=False) as browser:
        answer = browser.get("/history/patients/3?x=1")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fhistory%2Fpatients%2F3%3Fx%3D1"
        page = browser.get("/login")
        assert page.status_code == 200 and 'id="login-form"' in page.text
        assert "/static/base.css" in page.text
