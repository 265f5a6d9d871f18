"""Clinicians' accounts: argon2id password hashes, login with a growing delay and a lockout.

Policy (per account, kept in the database so it holds across restarts and processes): after a
wrong password the account waits before the next attempt, 1 s after the 2nd failure, 2 s after
the 3rd, 4 s after the 4th; the 5th locks it for 5 minutes (:data:`LOCKOUT`), and every failure
after that locks it again. A right password resets the count. While it waits, an attempt is
refused without looking at the password. Time comes from an injectable clock (UTC).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import SQLAlchemyError

from gaitrig.db import accounts as db_accounts
from gaitrig.db.accounts import AccountExistsError, AccountRow
from gaitrig.rig.records import Records

__all__ = ["AccountExistsError", "AccountRow", "Accounts", "LoginRefusedError",
           "PasswordRefusedError"]

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"

_hasher = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) parameters
#: Verified against when the user name is unknown, so that answer takes as long as a wrong one.
_UNKNOWN_USER_HASH = _hasher.hash("not a password of anybody")


def utc_now() -> datetime:
    return datetime.now(UTC)


def wait_after(failures: int) -> timedelta:
    """How long an account waits before the next attempt after ``failures`` wrong passwords."""
    if failures >= MAX_FAILURES:
        return LOCKOUT
    if failures < 2:
        return timedelta(0)
    return timedelta(seconds=2 ** (failures - 2))


class PasswordRefusedError(ValueError):
    """A new password that does not meet the rules (the reason is the message)."""


class LoginRefusedError(Exception):
    """A login that did not succeed. ``retry_after_s``: set when the account must wait."""

    def __init__(self, reason: str, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefusedError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRefusedError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class Accounts:
    """The accounts in ``records``' database; ``clock`` gives the time (UTC, aware)."""

    records: Records
    clock: Clock = utc_now

    def add(self, username: str, name: str, role: str, password: str) -> AccountRow:
        if not re.match(USERNAME_PATTERN, username):
            raise ValueError("a user name is 2-64 characters: lower-case letters, digits, "
                             "'.', '_' or '-', starting with a letter or digit")
        check_password(password)
        with self.records.sessions() as session:
            return db_accounts.add_account(session, username, name, role,
                                           _hasher.hash(password), self.clock())

    def find(self, username: str) -> AccountRow | None:
        with self.records.sessions() as session:
            return db_accounts.find_account(session, username)

    def by_id(self, clinician_id: int) -> AccountRow | None:
        with self.records.sessions() as session:
            return db_accounts.account_by_id(session, clinician_id)

    def recheck(self, account: AccountRow) -> AccountRow | None:
        """``account`` as the database has it now (None: gone). While the database is away,
        ``account`` as it was: a login session outlives an outage (the rig keeps running)."""
        try:
            return self.by_id(account.id)
        except SQLAlchemyError:
            log.warning("account %d not rechecked: the database is away", account.id)
            return account

    def set_password(self, username: str, password: str) -> bool:
        """A new password (it also lifts a lockout); False when there is no such account."""
        check_password(password)
        with self.records.sessions() as session:
            return db_accounts.update_account(session, username,
                                              password_hash=_hasher.hash(password),
                                              failed_logins=0, locked_until=None)

    def set_active(self, username: str, active: bool) -> bool:
        with self.records.sessions() as session:
            return db_accounts.update_account(session, username, active=active)

    def login(self, username: str, password: str) -> AccountRow:
        """The account, when the password is right; else :class:`LoginRefusedError` with why."""
        now = self.clock()
        account = self.find(username)
        if account is None:
            _verify(_UNKNOWN_USER_HASH, password)
            raise LoginRefusedError("wrong user name or password")
        # The attempt is counted as a failure (and the wait it would start stored) before the
        # password is checked, in one atomic UPDATE: parallel attempts cannot all be checked
        # against a count none of them has raised yet (16 at once were; the count ended at 2).
        waits = {failures: now + wait_after(failures) for failures in range(2, MAX_FAILURES + 1)}
        with self.records.sessions() as session:
            claimed = db_accounts.claim_login_attempt(session, username, now, waits)
        if claimed is None:
            waiting = self.find(username)
            until = None if waiting is None else waiting.locked_until
            wait_s = 1 if until is None else max(1, int((until - now).total_seconds() + 0.999))
            raise LoginRefusedError(f"too many wrong passwords: try again in {wait_s} s", wait_s)
        if not _verify(account.password_hash, password):
            raise LoginRefusedError("wrong user name or password")
        with self.records.sessions() as session:  # the right password: the count starts again
            db_accounts.update_account(session, username, failed_logins=0, locked_until=None)
        if not account.active:
            raise LoginRefusedError("this account is disabled: ask an administrator")
        return account
