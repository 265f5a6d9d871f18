"""The audit log: who (clinician id) changed targets, patients or calibrations, when, and what.

``details`` must be a short JSON of the change without a patient's name: record ids, field
names, numbers. The callers build it so (web_ui.audit_trail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaitrig.db import audit as db_audit
from gaitrig.db.audit import AuditEventOut
from gaitrig.rig.access.accounts import Clock, utc_now
from gaitrig.rig.records import Records

__all__ = ["AuditEventOut", "AuditLog"]


@dataclass
class AuditLog:
    records: Records
    rig_id: str
    clock: Clock = utc_now

    def record(self, clinician_id: int | None, action: str, details: dict[str, Any]
               ) -> AuditEventOut:
        with self.records.sessions() as session:
            return db_audit.add_event(session, self.clock(), clinician_id, self.rig_id, action,
                                      details)

    def newest(self, limit: int = 100, offset: int = 0) -> list[AuditEventOut]:
        with self.records.sessions() as session:
            return db_audit.list_events(session, limit, offset)
