"""The REST API as a logged-in clinician: ``rig_api.get(url, ...)`` is ``httpx.get`` with the
session cookie and the CSRF header of a test account on that server.

Every server the tests start gets the account :data:`USERNAME` (an admin; :func:`ensure_account`),
and the first call to a server logs in once through ``POST /api/login``; the client is kept per
origin (scheme, host, port). A server that restarted on the same port has forgotten the
session: the call that gets 401 for it logs in again once (:func:`_send`).
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

USERNAME = "tester"
PASSWORD = "test password 1"
_clients: dict[str, httpx.Client] = {}
_lock = threading.Lock()
C = TypeVar("C", bound=httpx.Client)


def ensure_account(database_url: str, username: str = USERNAME, password: str = PASSWORD,
                   role: str = "admin") -> int:
    """The account ``username`` in the database at ``database_url`` (made when absent); its id."""
    from gaitrig.rig.access.accounts import Accounts
    from gaitrig.rig.records import Records

    records = Records.open(database_url)
    try:
        accounts = Accounts(records)
        found = accounts.find(username)
        return (found or accounts.add(username, f"Test {username}", role, password)).id
    finally:
        records.close()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def log_in(client: C, username: str = USERNAME, password: str = PASSWORD) -> C:
    """``client`` (an ``httpx.Client`` or a TestClient) logged in through ``POST /api/login``,
    sending the session's CSRF header from now on."""
    answer = client.post("/api/login", json={"username": username, "password": password})
    assert answer.status_code == 200, f"login as {username} refused: {answer.text}"
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def login(url: str, username: str = USERNAME, password: str = PASSWORD, **options: Any
          ) -> httpx.Client:
    """A new client logged in at ``url``'s server, sending the CSRF header on every request."""
    return log_in(httpx.Client(base_url=origin(url), **options), username, password)


def client(url: str) -> httpx.Client:
    """The kept logged-in client of ``url``'s server (logged in on first use)."""
    key = origin(url)
    with _lock:
        if key not in _clients:
            _clients[key] = login(key)
        return _clients[key]


def forget(url: str) -> None:
    with _lock:
        found = _clients.pop(origin(url), None)
    if found is not None:
        found.close()


def _send(method: str, url: str, **kwargs: Any) -> httpx.Response:
    timeout = kwargs.pop("timeout", 5.0)
    response = client(url).request(method, url, timeout=timeout, **kwargs)
    if response.status_code == 401:  # a new server on a port we knew: log in there again
        forget(url)
        response = client(url).request(method, url, timeout=timeout, **kwargs)
    return response


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    return _send(method, url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return _send("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return _send("POST", url, **kwargs)


def put(url: str, **kwargs: Any) -> httpx.Response:
    return _send("PUT", url, **kwargs)


def patch(url: str, **kwargs: Any) -> httpx.Response:
    return _send("PATCH", url, **kwargs)


def delete(url: str, **kwargs: Any) -> httpx.Response:
    return _send("DELETE", url, **kwargs)


def browser_cookies(url: str) -> list[dict[str, Any]]:
    """The session and CSRF cookies of ``url``'s server, for a Playwright browser context
    (``context.add_cookies``): pages open logged in."""
    jar = client(url).cookies.jar
    return [{"name": c.name, "value": c.value or "", "url": origin(url)} for c in jar]


def display_url(url: str, path: str = "/display") -> str:
    """``path`` on ``url``'s server with the rig's display token (issued when there is none)."""
    link = get(origin(url) + "/api/display-link").json()
    token = link["token"] or post(origin(url) + "/api/display-link").json()["token"]
    return f"{origin(url)}{path}?token={token}"


def ensure_account_for(env: dict[str, str]) -> int:
    """:func:`ensure_account` in the database a `rig serve` with environment ``env`` uses."""
    url = env.get("GAITRIG_DATABASE_URL") or f"sqlite:///{env['GAITRIG_DATA_DIR']}/gaitrig.sqlite3"
    return ensure_account(url)


def live_ws_url(url: str) -> str:
    """The live websocket of ``url``'s server, watched with the rig's display token."""
    return display_url(url, "/ws/live").replace("http", "ws", 1)


def goto(page: Any, url: str, **options: Any) -> Any:
    """Playwright's ``page.goto(url)``, logged in: the browser context gets the session and
    CSRF cookies of ``url``'s server first."""
    page.context.add_cookies(browser_cookies(url))
    return page.goto(url, **options)
