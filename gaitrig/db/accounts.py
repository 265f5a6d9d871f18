"""Queries on clinicians' login accounts (rows of ``clinicians`` with a user name) and on the
rigs' display links. No policy here: hashing, lockout and tokens are
:mod:`gaitrig.rig.access.accounts`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gaitrig.db import clinic
from gaitrig.db import models as m
from gaitrig.db.types import UtcDateTime

#: What :func:`update_account` may set.
ACCOUNT_FIELDS = ("password_hash", "active", "failed_logins", "locked_until")


class AccountExistsError(ValueError):
    """The user name is taken."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account as stored (``password_hash`` is argon2's encoded hash)."""

    id: int
    username: str
    name: str
    account_role: str
    active: bool
    password_hash: str
    failed_logins: int
    locked_until: datetime | None

    @classmethod
    def of(cls, row: m.Clinician) -> AccountRow:
        assert row.username is not None and row.password_hash is not None
        return cls(row.id, row.username, row.name, row.account_role or "therapist", row.active,
                   row.password_hash, row.failed_logins or 0, row.locked_until)


def add_account(session: Session, username: str, name: str, account_role: str,
                password_hash: str, at: datetime) -> AccountRow:
    if account_role not in m.ACCOUNT_ROLES:
        raise ValueError(f"account role must be one of {m.ACCOUNT_ROLES}, not {account_role!r}")
    row = m.Clinician(name=name, role="physiotherapist", active=True, created_at=at,
                      username=username, password_hash=password_hash,
                      account_role=account_role, failed_logins=0)
    session.add(row)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise AccountExistsError(f"user name {username!r} is taken") from exc
    return AccountRow.of(row)


def _row(session: Session, username: str) -> m.Clinician | None:
    return session.scalars(select(m.Clinician).where(m.Clinician.username == username)).first()


def find_account(session: Session, username: str) -> AccountRow | None:
    row = _row(session, username)
    return None if row is None or row.password_hash is None else AccountRow.of(row)


def account_by_id(session: Session, clinician_id: int) -> AccountRow | None:
    row = session.get(m.Clinician, clinician_id)
    return None if row is None or row.password_hash is None else AccountRow.of(row)


def claim_login_attempt(session: Session, username: str, now: datetime,
                        waits_until: Mapping[int, datetime]) -> int | None:
    """Count one more login attempt of ``username`` as a failure before its password is
    checked, in one UPDATE (atomic on SQLite and PostgreSQL: parallel attempts each get their
    own count), unless the account is waiting (``locked_until`` after ``now``). The account
    then waits until ``waits_until[count]`` (counts above the highest key: the highest key's),
    so a burst of attempts cannot all be checked before the first failure is stored. Returns
    the new count, or None when the account waits (or has no login)."""
    count = m.Clinician.failed_logins + 1
    top = max(waits_until)
    whens = [(count >= top, literal(waits_until[top], UtcDateTime()))]
    whens += [(count == failures, literal(until, UtcDateTime()))
              for failures, until in sorted(waits_until.items(), reverse=True) if failures != top]
    statement = (
        update(m.Clinician)
        .where(m.Clinician.username == username, m.Clinician.password_hash.is_not(None),
               or_(m.Clinician.locked_until.is_(None), m.Clinician.locked_until <= now))
        .values(failed_logins=count, locked_until=case(*whens, else_=None))
        .returning(m.Clinician.failed_logins))
    claimed = session.execute(statement).scalar()
    session.commit()
    return None if claimed is None else int(claimed)


def update_account(session: Session, username: str, **fields: object) -> bool:
    """Set ``password_hash``, ``active``, ``failed_logins`` or ``locked_until``; False when
    there is no such account."""
    clinic.check_fields(fields, ACCOUNT_FIELDS, "account")
    row = _row(session, username)
    if row is None:
        return False
    for key, value in fields.items():
        setattr(row, key, value)
    session.commit()
    return True


# -- display links ------------------------------------------------------------------------------


def display_token(session: Session, rig_id: str) -> str | None:
    row = session.get(m.DisplayLink, rig_id)
    return None if row is None else row.token


def set_display_token(session: Session, rig_id: str, token: str | None,
                      clinician_id: int | None, at: datetime) -> None:
    """Replace the rig's display token (``None``: the rig has none); the old one stops working."""
    row = session.get(m.DisplayLink, rig_id)
    if row is not None:
        session.delete(row)
        session.flush()
    if token is not None:
        session.add(m.DisplayLink(rig_id=rig_id, token=token, created_at=at,
                                  created_by=clinician_id))
    session.commit()
