"""Calibrations per board (``board_calibrations``): store one, read a board's newest.

A board is its role and the serial number its HELLO carries. The newest row of a board is its
calibration; older rows are its history. ``calibration`` is the board's calibration record
(:class:`gaitrig.processing.calibration_procedures.CalibrationRecord` as a dict; this module does
not read it), ``details`` what the procedure measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gaitrig.db import models as m

#: What a row's ``kind`` may be.
KINDS = ("tare", "known_weight", "body_weight")


@dataclass(frozen=True, slots=True)
class BoardCalibrationOut:
    """One stored calibration; ``clinician_name`` is who made it (None: unknown, or deleted)."""

    id: int
    rig_id: str
    role: str
    serial_number: int
    kind: str
    calibration: dict[str, Any]
    details: dict[str, Any]
    created_at: datetime
    clinician_id: int | None
    clinician_name: str | None


def _out(row: m.BoardCalibration, clinician_name: str | None) -> BoardCalibrationOut:
    return BoardCalibrationOut(row.id, row.rig_id, row.role, row.serial_number, row.kind,
                               dict(row.calibration), dict(row.details), row.created_at,
                               row.clinician_id, clinician_name)


def add_calibration(session: Session, *, rig_id: str, role: str, serial_number: int, kind: str,
                    calibration: dict[str, Any], details: dict[str, Any], created_at: datetime,
                    clinician_id: int | None) -> BoardCalibrationOut:
    """Store one board's new calibration (committed)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    row = m.BoardCalibration(rig_id=rig_id, role=role, serial_number=serial_number, kind=kind,
                             calibration=calibration, details=details, created_at=created_at,
                             clinician_id=clinician_id)
    session.add(row)
    session.commit()
    name = None if clinician_id is None else session.scalar(
        select(m.Clinician.name).where(m.Clinician.id == clinician_id))
    return _out(row, name)


def count_calibrations(session: Session, role: str, serial_number: int) -> int:
    """How many calibrations this board has had (of any kind)."""
    return int(session.scalar(
        select(func.count()).select_from(m.BoardCalibration)
        .where(m.BoardCalibration.role == role,
               m.BoardCalibration.serial_number == serial_number)) or 0)


def newest_calibration(session: Session, role: str, serial_number: int,
                       kind: str | None = None, rig_id: str | None = None
                       ) -> BoardCalibrationOut | None:
    """The board's newest calibration (of ``kind``, and made on ``rig_id``, when given), or
    None when it has none."""
    query = (select(m.BoardCalibration, m.Clinician.name)
             .outerjoin(m.Clinician, m.Clinician.id == m.BoardCalibration.clinician_id)
             .where(m.BoardCalibration.role == role,
                    m.BoardCalibration.serial_number == serial_number))
    if kind is not None:
        query = query.where(m.BoardCalibration.kind == kind)
    if rig_id is not None:
        query = query.where(m.BoardCalibration.rig_id == rig_id)
    found = session.execute(query.order_by(m.BoardCalibration.created_at.desc(),
                                           m.BoardCalibration.id.desc()).limit(1)).first()
    return None if found is None else _out(found[0], found[1])
