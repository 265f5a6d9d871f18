"""Clinicians' login sessions, kept in the database (``login_sessions``), so a restart of the
server logs nobody out and every process serving the rig knows them.

A session is found by the random value of its cookie, of which only the SHA-256 is stored (as
with display links, the database never holds the value itself). It carries its CSRF token (the
synchronizer token the pages send in ``X-CSRF-Token``), and a fingerprint of the account's
password hash at login: a new password (``rig user passwd``) ends older sessions, and so does
disabling the account (the row is deleted when it is next presented). A session ends after
:data:`IDLE_TIMEOUT` without a request, and :data:`MAX_AGE` after login; a logout deletes its
row, and each login deletes the rows that have expired.

The time of the last request is written at most every :data:`TOUCH_EVERY` (a session may so
end up to that much before its two idle hours are over), not on every request.

While the database is away, the sessions this process has seen are checked against its copy
in memory, with the same rules (the rig keeps running through an outage, and so does the
therapist's login); a logout meanwhile is remembered and its row deleted once the database
is back.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from gaitrig.db import login_sessions as db_sessions
from gaitrig.db.accounts import AccountRow
from gaitrig.rig.records import Records

IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)
#: The last request's time is stored when it is at least this much newer than the stored one.
TOUCH_EVERY = timedelta(seconds=60)

log = logging.getLogger(__name__)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def expired(created_at: datetime, last_seen: datetime, now: datetime) -> bool:
    return now - last_seen > IDLE_TIMEOUT or now - created_at > MAX_AGE


@dataclass
class LoginSession:
    account: AccountRow  # as it was when last read from the database
    csrf_token: str
    password_fingerprint: str
    created_at: datetime
    last_seen: datetime

    def expired(self, now: datetime) -> bool:
        return expired(self.created_at, self.last_seen, now)


class LoginSessions:
    """``records``: the database the sessions are kept in (None: in this process's memory
    only, as the tests of the rules on their own may want)."""

    def __init__(self, clock: Callable[[], datetime], records: Records | None = None) -> None:
        self.clock = clock
        self.records = records
        self._sessions: dict[str, LoginSession] = {}  # this process's copy, by token hash
        self._closed: set[str] = set()  # logged out while the database was away
        self._lock = threading.Lock()

    def open(self, account: AccountRow) -> tuple[str, LoginSession]:
        """A new session of ``account``: its cookie value (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        key, now = fingerprint(token), self.clock()
        session = LoginSession(account, secrets.token_urlsafe(32),
                               fingerprint(account.password_hash), now, now)
        if self.records is not None:
            with self.records.sessions() as db:
                db_sessions.delete_expired(db, now - IDLE_TIMEOUT, now - MAX_AGE)
                db_sessions.add_session(db, key, account.id, session.csrf_token,
                                        session.password_fingerprint, now)
        with self._lock:
            self._forget_expired(now)
            self._sessions[key] = session
        return token, session

    def find(self, token: str) -> LoginSession | None:
        """The live session of this cookie value (its idle time restarts), or None."""
        now, key = self.clock(), fingerprint(token)
        if self.records is None:
            return self._find_in_memory(key, now)
        try:
            return self._find_stored(key, now)
        except SQLAlchemyError as exc:
            log.warning("login session checked against this process's copy: the database is "
                        "away (%s)", type(exc).__name__)
            return self._find_in_memory(key, now)

    def close(self, token: str) -> None:
        """End the session of this cookie value (logout): its row is deleted."""
        key = fingerprint(token)
        with self._lock:
            self._sessions.pop(key, None)
        if self.records is None:
            return
        try:
            with self.records.sessions() as db:
                db_sessions.delete_session(db, key)
        except SQLAlchemyError:
            log.warning("logout while the database is away: the session's row is deleted when "
                        "it is back")
            with self._lock:
                self._closed.add(key)

    def _find_stored(self, key: str, now: datetime) -> LoginSession | None:
        assert self.records is not None
        with self.records.sessions() as db:
            if key in self._closed:  # logged out during an outage: delete it now
                db_sessions.delete_session(db, key)
                with self._lock:
                    self._closed.discard(key)
                return None
            found = db_sessions.find_session(db, key)
            if found is None:
                with self._lock:
                    self._sessions.pop(key, None)
                return None
            row, account = found
            if (account is None or not account.active
                    or fingerprint(account.password_hash) != row.password_fingerprint
                    or expired(row.created_at, row.last_seen_at, now)):
                db_sessions.delete_session(db, key)  # disabled, new password, or too old
                with self._lock:
                    self._sessions.pop(key, None)
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                db_sessions.touch_session(db, key, now)
        session = LoginSession(account, row.csrf_token, row.password_fingerprint,
                               row.created_at, now)
        with self._lock:
            self._sessions[key] = session
        return replace(session)

    def _find_in_memory(self, key: str, now: datetime) -> LoginSession | None:
        with self._lock:
            if key in self._closed:
                return None
            session = self._sessions.get(key)
            if session is None:
                return None
            if session.expired(now):
                del self._sessions[key]
                return None
            session.last_seen = now
            return session

    def _forget_expired(self, now: datetime) -> None:
        for key, session in list(self._sessions.items()):
            if session.expired(now):
                del self._sessions[key]
