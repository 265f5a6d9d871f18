"""The audit log's rows: append one, list the newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gaitrig.db import models as m


@dataclass(frozen=True, slots=True)
class AuditEventOut:
    id: int
    at: datetime
    clinician_id: int | None
    rig_id: str
    action: str
    details: dict[str, Any]

    @classmethod
    def of(cls, row: m.AuditEvent) -> AuditEventOut:
        return cls(row.id, row.at, row.clinician_id, row.rig_id, row.action, dict(row.details))


def add_event(session: Session, at: datetime, clinician_id: int | None, rig_id: str,
              action: str, details: dict[str, Any]) -> AuditEventOut:
    row = m.AuditEvent(at=at, clinician_id=clinician_id, rig_id=rig_id, action=action,
                       details=details)
    session.add(row)
    session.commit()
    return AuditEventOut.of(row)


def list_events(session: Session, limit: int = 100, offset: int = 0) -> list[AuditEventOut]:
    rows = session.scalars(select(m.AuditEvent).order_by(m.AuditEvent.id.desc())
                           .limit(limit).offset(offset))
    return [AuditEventOut.of(row) for row in rows]
