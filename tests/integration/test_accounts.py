"""Clinicians' accounts: argon2 hashes, login cookies, logout, the growing wait and lockout
after wrong passwords (on an injected clock, no sleeps), disabled accounts, new passwords."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gaitrig.rig.access.accounts import LOCKOUT, Accounts, PasswordRefusedError, wait_after
from gaitrig.rig.settings import Settings
from gaitrig.testing import rig_api
from gaitrig.web_ui.app import create_app

USER, PASSWORD = rig_api.USERNAME, rig_api.PASSWORD


@dataclass
class FakeClock:
    now: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app_client(tmp_path: Path, clock: FakeClock, database_url: str
               ) -> Iterator[tuple[TestClient, Accounts]]:
    app = create_app(Settings(database_url=database_url, simulate=False, devices=False,
                              data_dir=tmp_path), clock=clock)
    with TestClient(app) as client:
        rig_api.ensure_account(database_url)
        yield client, app.state.auth.accounts


def attempt(client: TestClient, password: str, user: str = USER) -> Any:
    return client.post("/api/login", json={"username": user, "password": password})


def test_password_is_stored_as_an_argon2id_hash(app_client: tuple[TestClient, Accounts]
                                                ) -> None:
    _, accounts = app_client
    account = accounts.find(USER)
    assert account is not None
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash
    with pytest.raises(PasswordRefusedError, match="at least 10"):
        accounts.add("shorty", "Short Password", "therapist", "abc")
    with pytest.raises(ValueError, match="user name"):
        accounts.add("Bad Name!", "X", "therapist", "long enough password")


def test_login_sets_strict_httponly_cookies_and_logout_ends_the_session(
        app_client: tuple[TestClient, Accounts]) -> None:
    client, _ = app_client
    answer = attempt(client, PASSWORD)
    assert answer.status_code == 200 and answer.json()["role"] == "admin"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("gaitrig_session="))
    csrf = next(c for c in cookies if c.startswith("gaitrig_csrf="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Secure" not in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf  # rest.js reads it
    assert answer.json()["csrf_token"] in csrf
    assert client.get("/api/session").json()["username"] == USER
    assert client.post("/api/logout").status_code == 403  # no CSRF header: refused
    token = answer.json()["csrf_token"]
    old_cookie = client.cookies["gaitrig_session"]
    assert client.post("/api/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert "gaitrig_session" not in client.cookies
    client.cookies.set("gaitrig_session", old_cookie)  # the old cookie is dead on the server
    assert client.get("/api/session").status_code == 401


def test_cookies_are_secure_under_tls(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    settings = Settings(data_dir=tmp_path, simulate=False, devices=False, tls_keyfile=key,
                        tls_certfile=cert)
    with TestClient(create_app(settings)) as client:
        rig_api.ensure_account(settings.resolved_database_url())
        cookies = attempt(client, PASSWORD).headers.get_list("set-cookie")
    assert len(cookies) == 2 and all("Secure" in cookie for cookie in cookies)


def test_wrong_passwords_wait_longer_then_lock_the_account(
        app_client: tuple[TestClient, Accounts], clock: FakeClock) -> None:
    client, accounts = app_client
    unknown = attempt(client, "whatever it is", user="nobody")
    first = attempt(client, "wrong password")
    assert unknown.status_code == first.status_code == 401
    assert unknown.json() == first.json() == {"detail": "wrong user name or password"}
    second = attempt(client, "wrong password")  # 2nd failure: wait 1 s
    assert second.status_code == 401
    waiting = attempt(client, PASSWORD)  # even the right one, during the wait
    assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
    clock.advance(1)
    assert attempt(client, "wrong again").status_code == 401  # 3rd: wait 2 s
    clock.advance(1)
    assert attempt(client, PASSWORD).status_code == 429
    clock.advance(1)
    assert attempt(client, "wrong again").status_code == 401  # 4th: wait 4 s
    clock.advance(4)
    assert attempt(client, "wrong again").status_code == 401  # 5th: locked for 5 minutes
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429 and locked.headers["retry-after"] == "300"
    assert "try again in 300 s" in locked.json()["detail"]
    clock.advance(LOCKOUT.total_seconds() - 1)
    assert attempt(client, PASSWORD).status_code == 429
    clock.advance(1)
    assert attempt(client, PASSWORD).status_code == 200  # the lock is over; the count resets
    account = accounts.find(USER)
    assert account is not None and account.failed_logins == 0 and account.locked_until is None
    client.cookies.clear()  # logged in, a POST would need the CSRF header (even a login)
    assert attempt(client, "one wrong").status_code == 401
    assert attempt(client, PASSWORD).status_code == 200  # one failure: no wait


def test_the_wait_grows_and_the_lock_is_five_minutes() -> None:
    waits = [wait_after(n).total_seconds() for n in range(1, 7)]
    assert waits == [0, 1, 2, 4, 300, 300]


def test_disabled_account_and_new_password_end_sessions(
        app_client: tuple[TestClient, Accounts]) -> None:
    client, accounts = app_client
    assert attempt(client, PASSWORD).status_code == 200
    assert accounts.set_password(USER, "a brand new password")
    assert client.get("/api/session").status_code == 401  # logged in with the old password
    assert attempt(client, PASSWORD).status_code == 401
    assert attempt(client, "a brand new password").status_code == 200
    assert accounts.set_active(USER, False)
    assert client.get("/api/session").status_code == 401
    refused = attempt(client, "a brand new password")
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"]
    assert attempt(client, "not it at all").json()["detail"] == "wrong user name or password"


def test_a_session_ends_after_two_idle_hours_and_twelve_hours_after_login(
        app_client: tuple[TestClient, Accounts], clock: FakeClock) -> None:
    client, _ = app_client
    assert attempt(client, PASSWORD).status_code == 200
    clock.advance(2 * 3600 - 60)  # idle just under two hours: still logged in
    assert client.get("/api/session").status_code == 200
    clock.advance(2 * 3600 + 60)  # then idle just over two hours: logged out
    assert client.get("/api/session").status_code == 401

    assert attempt(client, PASSWORD).status_code == 200
    for _ in range(11):  # in use all day, never idle for long
        clock.advance(3600)
        assert client.get("/api/session").status_code == 200
    clock.advance(3600 + 60)  # twelve hours after login
    assert client.get("/api/session").status_code == 401


def _burst(accounts: Accounts, passwords: list[str]) -> list[str]:
    """Every password tried at once, from threads of their own (a script's parallel requests);
    what each attempt got: ``ok``, ``wrong`` or ``wait``."""
    from concurrent.futures import ThreadPoolExecutor

    from gaitrig.rig.access.accounts import LoginRefusedError

    start = threading.Barrier(len(passwords))

    def one(password: str) -> str:
        start.wait()
        try:
            accounts.login(USER, password)
        except LoginRefusedError as refused:
            return "wait" if refused.retry_after_s else "wrong"
        return "ok"

    with ThreadPoolExecutor(len(passwords)) as pool:
        return list(pool.map(one, passwords))


def test_a_burst_of_wrong_passwords_is_counted_whole(app_client: tuple[TestClient, Accounts]
                                                     ) -> None:
    """16 wrong passwords at once were all checked and the stored count ended at 2 (issue 15,
    part 2): each attempt is counted before its password is checked, in one atomic UPDATE, so
    only as many are checked as the policy lets through, and the count is theirs."""
    _, accounts = app_client
    answers = _burst(accounts, [f"wrong password {i}" for i in range(16)])
    checked = answers.count("wrong")
    assert checked == 2 and answers.count("wait") == 14, answers  # the 2nd failure waits 1 s
    account = accounts.find(USER)
    assert account is not None and account.failed_logins == checked
    assert account.locked_until is not None


def test_a_burst_with_the_right_password_does_not_get_through_a_wait(
        app_client: tuple[TestClient, Accounts], clock: FakeClock) -> None:
    client, accounts = app_client
    for _ in range(4):  # 4 failures: the account waits 4 s
        assert attempt(client, "not it at all").status_code == 401
        clock.advance(60)
    assert attempt(client, "not it at all").status_code == 401  # the 5th: locked 5 minutes
    answers = _burst(accounts, [*(f"guess {i}" for i in range(15)), PASSWORD])
    assert answers == ["wait"] * 16, answers  # the right one too: nothing is checked
    clock.advance(LOCKOUT.total_seconds() + 1)
    answers = _burst(accounts, [*(f"guess {i}" for i in range(7)), PASSWORD])
    # the first of them is checked (right or not) and locks the account again for the rest
    assert answers.count("ok") + answers.count("wrong") == 1 and answers.count("wait") == 7, (
        answers)
