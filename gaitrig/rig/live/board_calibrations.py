"""Calibrations that last: kept per board (role + serial number from its HELLO), with who and when.

:class:`BoardCalibrations` is the rig's use of the ``board_calibrations`` table
(:mod:`gaitrig.db.board_calibrations`): store a board's new calibration as a
:class:`~gaitrig.processing.calibration_procedures.CalibrationRecord` dict, read a board's newest
back. :class:`BoardCalibrationKeeper` is what the controller holds:

* when a board's HELLO is first seen (a new board in a role, also after a restart), it reads that
  board's newest stored calibration on a thread of its own (never the processing thread) and has
  the controller use it; a board with none stored gets the role's nominal calibration;
* after an accepted tare, known-weight gain or body-weight calibration it stores each changed
  board's calibration with the clinician who made it;
* it says, per board, which calibration is in use: kind, when (UTC), its age (s) and by whom, or
  that there is none stored (nominal values only).

Every change of a role's calibration takes a new *generation* under the controller's lock: a
stored calibration read for an older generation (the board changed, or the therapist calibrated
meanwhile) is dropped, never applied over a newer one.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gaitrig.db import board_calibrations as db_calibrations
from gaitrig.drivers.serial_link import BoardLink
from gaitrig.processing import calibration_procedures as procedures
from gaitrig.processing.calibration import FsrCalibration, LinearCalibration
from gaitrig.processing.calibration_procedures import CalibrationRecord, CalibrationResult
from gaitrig.rig.access.accounts import Clock, utc_now
from gaitrig.rig.records import Records

__all__ = ["BoardCalibrationKeeper", "BoardCalibrations", "KeptCalibration"]

log = logging.getLogger(__name__)

BoardCalibration = LinearCalibration | FsrCalibration
#: How a procedure's method is kept (``board_calibrations.kind``).
KIND_OF_METHOD = {procedures.TARE: "tare", procedures.POST_GAIN: "known_weight",
                  procedures.BAR_GAIN: "known_weight", procedures.BODY_WEIGHT: "body_weight"}
#: While the database cannot be read, a board's stored calibration is asked for again this
#: often (s).
RETRY_S = 5.0
#: The serial number of a board whose EEPROM was never programmed (firmware default).
UNSET_SERIAL = 0
NO_CALIBRATION = "No stored calibration: nominal (datasheet) values only. Calibrate this board."


@dataclass(frozen=True, slots=True)
class KeptCalibration:
    """A board's calibration as kept: ``calibrated_at`` (UTC), ``by`` the clinician's name
    (None: not known), ``stored`` False when the database was away as it was made (it is used
    until the server stops, then lost)."""

    role: str
    serial_number: int
    kind: str
    calibrated_at: datetime
    clinician_id: int | None
    by: str | None
    board_calibration: BoardCalibration
    stored: bool = True


class BoardCalibrations:
    """Board calibrations in the clinic database, for the rig ``rig_id``."""

    def __init__(self, records: Records, rig_id: str, clock: Clock = utc_now) -> None:
        self.records, self.rig_id, self.clock = records, rig_id, clock

    def newest(self, role: str, serial_number: int) -> KeptCalibration | None:
        """The board's newest stored calibration; None when it has none (or only unreadable
        ones: logged). Serial number 0 is a board whose EEPROM was never given one
        (docs/hardware.md): it only finds what was made on this rig."""
        with self.records.sessions() as session:
            row = db_calibrations.newest_calibration(
                session, role, serial_number,
                rig_id=self.rig_id if serial_number == UNSET_SERIAL else None)
        if row is None:
            return None
        try:
            record = CalibrationRecord.from_dict(row.calibration)
            if record.board != role:
                raise ValueError(f"the record is for board {record.board!r}")
            board = record.calibration()
        except ValueError as exc:
            log.warning("%s %s: stored calibration %d is unreadable (%s); using nominal values",
                        role, serial_number, row.id, exc)
            return None
        return KeptCalibration(role, serial_number, row.kind, row.created_at, row.clinician_id,
                               row.clinician_name, board)

    def save(self, role: str, serial_number: int, result: CalibrationResult,
             clinician_id: int | None) -> KeptCalibration:
        """Store the new calibration of board ``role`` from an accepted ``result``."""
        if role not in procedures.BOARDS:
            raise ValueError(f"no such board {role!r}: one of {list(procedures.BOARDS)}")
        now = self.clock()
        with self.records.sessions() as session:
            version = db_calibrations.count_calibrations(session, role, serial_number) + 1
            record = result.record(role, str(serial_number), version, now.isoformat())
            row = db_calibrations.add_calibration(
                session, rig_id=self.rig_id, role=role, serial_number=serial_number,
                kind=KIND_OF_METHOD[result.method], calibration=record.to_dict(),
                details=json_ready({"method": result.method, **result.inputs}),
                created_at=now, clinician_id=clinician_id)
        return KeptCalibration(role, serial_number, row.kind, row.created_at, clinician_id,
                               row.clinician_name, record.calibration())


class BoardCalibrationKeeper:
    """Which board is in each role and whose calibration the controller uses for it.

    ``apply(role, board_calibration)`` makes the controller use a board calibration (None: the
    role's nominal one); it is called with ``lock`` (the controller's) held. ``store`` is None
    without a database: calibrations then last until the server stops.
    """

    def __init__(self, store: BoardCalibrations | None, lock: threading.RLock,
                 apply: Callable[[str, BoardCalibration | None], bool]) -> None:
        self.store, self._lock, self._apply = store, lock, apply
        self._hellos: dict[str, object] = {}  # port -> the HELLO last seen on it
        self._serials: dict[str, int] = {}  # role -> serial number of the board in it
        self._generation: dict[str, int] = {}
        self._kept: dict[str, KeptCalibration] = {}  # role -> calibration in use (if not nominal)
        self._loading: dict[str, str] = {}  # role -> why its stored calibration is not known yet
        self._closing = threading.Event()
        self.loaded = threading.Event()  # set each time a board's stored calibration was looked up

    # -- boards connecting (processing thread) ---------------------------------------------------

    def notice(self, links: Iterable[BoardLink]) -> None:
        """Look at each link's HELLO (cheap: called often); a board new in its role has its stored
        calibration read, on a thread of its own."""
        for link in links:
            hello = link.hello
            if hello is None or self._hellos.get(link.port) is hello:
                continue
            self._hellos[link.port] = hello
            role, serial = hello.role.name.lower(), int(hello.serial_number)
            with self._lock:
                if self._serials.get(role) == serial:
                    continue  # the same board, reconnected: its calibration is still in use
                self._serials[role] = serial
                generation = self._bump(role)
                if role in self._kept:  # another board's calibration does not fit this one
                    del self._kept[role]
                    self._apply(role, None)
                self._loading[role] = "Nominal values while its stored calibration is read."
            threading.Thread(target=self._load, args=(role, serial, generation), daemon=True,
                             name=f"calibration-{role}").start()

    def _load(self, role: str, serial: int, generation: int) -> None:
        while not self._closing.is_set():
            try:
                kept = None if self.store is None else self.store.newest(role, serial)
            except SQLAlchemyError as exc:
                log.warning("%s %s: cannot read its stored calibration (%s); nominal values "
                            "until the database answers", role, serial, str(exc).splitlines()[0])
                with self._lock:
                    if self._generation.get(role) != generation:
                        return
                    self._loading[role] = ("The database is not answering: nominal values "
                                           "until its stored calibration can be read.")
                if self._closing.wait(RETRY_S):
                    return
                continue
            with self._lock:
                if self._generation.get(role) != generation:
                    return  # the board changed, or was calibrated meanwhile
                self._loading.pop(role, None)
                if kept is None:
                    self._apply(role, None)  # nominal (already in use): the consoles are told
                else:
                    if self._apply(role, kept.board_calibration):
                        self._kept[role] = kept
                        log.info("%s %s: using its %s calibration of %s", role, serial,
                                 kept.kind, kept.calibrated_at.isoformat())
                    else:
                        log.warning("%s %s: its stored calibration does not fit this rig's "
                                    "channels; nominal values", role, serial)
            self.loaded.set()
            return

    def close(self) -> None:
        self._closing.set()

    # -- calibrations made (web server threads) --------------------------------------------------

    def claim(self, boards: Iterable[str]) -> dict[str, int]:
        """Call with the controller's lock held, as an accepted calibration is put to use: the
        boards' stored calibrations still being read are dropped. Returns what :meth:`keep`
        needs."""
        with self._lock:
            for role in boards:
                self._loading.pop(role, None)
            return {role: self._bump(role) for role in boards}

    def keep(self, claimed: dict[str, int], result: CalibrationResult,
             clinician_id: int | None) -> list[KeptCalibration]:
        """Store the boards' new calibrations from ``result`` (accepted) made by
        ``clinician_id`` (outside the controller's lock: the database may be slow)."""
        kept = []
        for role, generation in claimed.items():
            serial = self._serials.get(role)
            if serial is None:
                log.warning("%s: calibrated before its HELLO was seen; not stored", role)
                continue
            entry = self._save(role, serial, result, clinician_id)
            with self._lock:
                if self._generation.get(role) == generation:
                    self._kept[role] = entry
            kept.append(entry)
        return kept

    def _save(self, role: str, serial: int, result: CalibrationResult,
              clinician_id: int | None) -> KeptCalibration:
        board = (result.calibration.bars if role == "bars"
                 else getattr(result.calibration, role))
        if self.store is not None:
            try:
                return self.store.save(role, serial, result, clinician_id)
            except SQLAlchemyError as exc:
                log.warning("%s %s: the new calibration could not be stored (%s); it is used "
                            "until the server stops", role, serial, str(exc).splitlines()[0])
        return KeptCalibration(role, serial, KIND_OF_METHOD[result.method], utc_now(),
                               clinician_id, None, board, stored=False)

    def serial_number(self, role: str) -> int | None:
        return self._serials.get(role)

    def _bump(self, role: str) -> int:
        self._generation[role] = self._generation.get(role, 0) + 1
        return self._generation[role]

    # -- what the console shows ------------------------------------------------------------------

    def status(self, roles: Iterable[str], now: datetime | None = None) -> list[dict[str, Any]]:
        """Per board of ``roles``: ``calibration`` "stored" | "unsaved" (made while the database
        was away) | "none" (nominal values) | "unknown" (board not seen yet, or its stored
        calibration not read yet); ``kind``, ``calibrated_at`` (ISO 8601, UTC), ``age_s`` (s),
        ``by`` (clinician's name, else "clinician #id"), ``clinician_id``; ``warning`` in plain
        words, or None."""
        now = now or utc_now()
        rows = []
        with self._lock:
            for role in roles:
                serial = self._serials.get(role)
                kept = self._kept.get(role)
                row: dict[str, Any] = {
                    "role": role, "serial_number": serial, "calibration": "none", "kind": None,
                    "calibrated_at": None, "age_s": None, "by": None, "clinician_id": None,
                    "warning": None}
                if serial is None:
                    row.update(calibration="unknown", warning="Board not connected yet.")
                elif kept is not None:
                    row.update(
                        calibration="stored" if kept.stored else "unsaved", kind=kept.kind,
                        calibrated_at=kept.calibrated_at.astimezone(UTC).isoformat(),
                        age_s=round(max(0.0, (now - kept.calibrated_at).total_seconds()), 1),
                        by=kept.by or (None if kept.clinician_id is None
                                       else f"clinician #{kept.clinician_id}"),
                        clinician_id=kept.clinician_id,
                        warning=None if kept.stored else (
                            "Not saved (the database was away): it will be lost when the "
                            "server stops. Calibrate again once the database is back."))
                elif role in self._loading:
                    row.update(calibration="unknown", warning=self._loading[role])
                else:
                    row["warning"] = NO_CALIBRATION
                rows.append(row)
        return rows


def json_ready(value: Any) -> Any:
    """``value`` with every non-finite float as None (JSON, and PostgreSQL's JSONB, have no
    NaN), tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
