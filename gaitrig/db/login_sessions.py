"""Queries on clinicians' login sessions (``login_sessions``). Rows are found by the SHA-256 of
the cookie's value; the value itself is never stored. No policy here: timeouts and checks are
:mod:`gaitrig.rig.access.login_sessions`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from gaitrig.db import models as m
from gaitrig.db.accounts import AccountRow


@dataclass(frozen=True, slots=True)
class LoginSessionOut:
    token_hash: str
    clinician_id: int
    csrf_token: str
    password_fingerprint: str
    created_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, row: m.LoginSessionRow) -> LoginSessionOut:
        return cls(row.token_hash, row.clinician_id, row.csrf_token, row.password_fingerprint,
                   row.created_at, row.last_seen_at)


def add_session(session: Session, token_hash: str, clinician_id: int, csrf_token: str,
                password_fingerprint: str, at: datetime) -> None:
    session.add(m.LoginSessionRow(token_hash=token_hash, clinician_id=clinician_id,
                                  csrf_token=csrf_token,
                                  password_fingerprint=password_fingerprint, created_at=at,
                                  last_seen_at=at))
    session.commit()


def find_session(session: Session, token_hash: str
                 ) -> tuple[LoginSessionOut, AccountRow | None] | None:
    """The session with this hash and its account as it is now (None: no such session; the
    account None: it has no login any more)."""
    row = session.get(m.LoginSessionRow, token_hash)
    if row is None:
        return None
    clinician = session.get(m.Clinician, row.clinician_id)
    account = (None if clinician is None or clinician.password_hash is None
               else AccountRow.of(clinician))
    return LoginSessionOut.of(row), account


def touch_session(session: Session, token_hash: str, at: datetime) -> None:
    session.execute(update(m.LoginSessionRow).where(m.LoginSessionRow.token_hash == token_hash)
                    .values(last_seen_at=at))
    session.commit()


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(delete(m.LoginSessionRow).where(m.LoginSessionRow.token_hash == token_hash))
    session.commit()


def delete_expired(session: Session, seen_before: datetime, created_before: datetime) -> int:
    """Remove the sessions idle since before ``seen_before`` or opened before
    ``created_before``; how many."""
    result = session.execute(delete(m.LoginSessionRow).where(or_(
        m.LoginSessionRow.last_seen_at < seen_before,
        m.LoginSessionRow.created_at < created_before)))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def list_sessions(session: Session) -> list[LoginSessionOut]:
    return [LoginSessionOut.of(row) for row in session.scalars(
        select(m.LoginSessionRow).order_by(m.LoginSessionRow.created_at))]
