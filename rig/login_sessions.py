"""Clinicians' login sessions, kept in the server's memory (a restart logs everyone out).

A session is found by the random value of its cookie (only its SHA-256 is kept). It carries its
CSRF token (the synchronizer token the pages send in ``X-CSRF-Token``), and a fingerprint of the
account's password hash at login: a new password (``rig user passwd``) ends older sessions.
A session ends after :data:`IDLE_TIMEOUT` without a request, and :data:`MAX_AGE` after login.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.accounts import AccountRow

IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class LoginSession:
    account: AccountRow  # as it was at login
    csrf_token: str
    password_fingerprint: str
    created_at: datetime
    last_seen: datetime

    def expired(self, now: datetime) -> bool:
        return now - self.last_seen > IDLE_TIMEOUT or now - self.created_at > MAX_AGE


class LoginSessions:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._sessions: dict[str, LoginSession] = {}
        self._lock = threading.Lock()

    def open(self, account: AccountRow) -> tuple[str, LoginSession]:
        """A new session of ``account``: its cookie value (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        session = LoginSession(account, secrets.token_urlsafe(32),
                               fingerprint(account.password_hash), now, now)
        with self._lock:
            self._forget_expired(now)
            self._sessions[fingerprint(token)] = session
        return token, session

    def find(self, token: str) -> LoginSession | None:
        """The live session of this cookie value (its idle time restarts), or None."""
        now, key = self.clock(), fingerprint(token)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return None
            if session.expired(now):
                del self._sessions[key]
                return None
            session.last_seen = now
            return session

    def close(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(fingerprint(token), None)

    def _forget_expired(self, now: datetime) -> None:
        for key, session in list(self._sessions.items()):
            if session.expired(now):
                del self._sessions[key]
