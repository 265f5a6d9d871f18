"""What the therapist set on the rig, kept across a restart: the stored form, and its writer.

The controller's :meth:`~gaitrig.rig.live.controller.RigController.persisted_state` is one JSON-able
dict::

    {"version": 1,
     "patient": {"display_name", "body_mass_kg", "prosthetic_side", "amputation_level",
                 "patient_id"},
     "exercise": "walking",
     "targets": {"band_low_pct_bw", "band_high_pct_bw", "limit_pct_bw",
                 "max_hand_support_pct_bw", "unit": "kg" | "pct_bw", "shift_period_s"},
     "feedback": {"visual", "tone", "counter", "muted", "volume_pct",
                  "mode": "full" | "faded" | "off", "fade_every_n"}}

Targets are kept in % body weight with the unit the therapist entered them in (``unit``), as
:class:`rig.targets.Targets` holds them, so a restore gives exactly the same targets. At start,
:meth:`~gaitrig.rig.live.controller.RigController.restore_state` takes each key it knows on its own:
a key that is missing or does not read back (an older or damaged document) keeps the setting's
default and is logged; a key it does not know is kept as it was and written back with the
next save, so a newer server's keys survive an older one.

:class:`RigStateWriter` writes the state on a thread of its own whenever it changes (the
controls never wait for the database, and never block the processing loop); while the
database is away it tries again every :data:`RETRY_S` and writes the newest state once it is
back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gaitrig.db import rig_states
from gaitrig.db.models import AMPUTATION_LEVELS
from gaitrig.rig.live.live_message import FEEDBACK_MODES, Feedback
from gaitrig.rig.model import Exercise, PatientOnRig, Targets
from gaitrig.rig.records import Records

log = logging.getLogger(__name__)

STATE_VERSION = 1
#: While the database is away, the writer tries again this often (s).
RETRY_S = 1.0


class StateValueError(ValueError):
    """A stored value that does not read back as a setting."""


def patient_state(patient: PatientOnRig) -> dict[str, Any]:
    return {"display_name": patient.display_name, "body_mass_kg": patient.body_mass_kg,
            "prosthetic_side": patient.prosthetic_side,
            "amputation_level": patient.amputation_level, "patient_id": patient.patient_id}


def patient_from_state(value: Any) -> PatientOnRig:
    """The patient a stored ``patient`` document names (the API's rules: a name of 1-80
    characters, 20-300 kg, left or right)."""
    doc = _document(value)
    name, mass, side = doc.get("display_name"), doc.get("body_mass_kg"), doc.get("prosthetic_side")
    level, patient_id = doc.get("amputation_level"), doc.get("patient_id")
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise StateValueError(f"display_name {name!r}")
    if isinstance(mass, bool) or not isinstance(mass, int | float) or not 20 < mass < 300:
        raise StateValueError(f"body_mass_kg {mass!r}")
    if side not in ("left", "right"):
        raise StateValueError(f"prosthetic_side {side!r}")
    if level is not None and level not in AMPUTATION_LEVELS:
        raise StateValueError(f"amputation_level {level!r}")
    if patient_id is not None and (isinstance(patient_id, bool) or not isinstance(patient_id, int)):
        raise StateValueError(f"patient_id {patient_id!r}")
    return PatientOnRig(name, float(mass), side, patient_id, level)


def targets_state(targets: Targets) -> dict[str, Any]:
    return asdict(targets)


def targets_from_state(value: Any) -> Targets:
    doc = _document(value)
    known = {f.name for f in fields(Targets)}
    if doc.get("unit") not in ("pct_bw", "kg"):
        raise StateValueError(f"targets unit {doc.get('unit')!r}")
    for name in known - {"unit"}:
        number = doc.get(name)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            raise StateValueError(f"targets {name} {number!r}")
    return Targets(**{k: v for k, v in doc.items() if k in known})  # ValueError when out of order


def exercise_from_state(value: Any) -> Exercise:
    return Exercise(value)


def feedback_state(feedback: Feedback) -> dict[str, Any]:
    return feedback.to_dict()


def feedback_from_state(value: Any) -> Feedback:
    doc = _document(value)
    known = {f.name for f in fields(Feedback)}
    for name in known - {"volume_pct", "mode", "fade_every_n"}:
        if name in doc and not isinstance(doc[name], bool):
            raise StateValueError(f"feedback {name} {doc[name]!r}")
    if doc.get("mode", "full") not in FEEDBACK_MODES:
        raise StateValueError(f"feedback mode {doc['mode']!r}")
    every = doc.get("fade_every_n", 2)
    if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= 20:
        raise StateValueError(f"feedback fade_every_n {every!r}")
    volume = doc.get("volume_pct", Feedback().volume_pct)
    if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
        raise StateValueError(f"feedback volume_pct {volume!r}")
    return Feedback(**{k: v for k, v in doc.items() if k in known})


def _document(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateValueError(f"not an object: {value!r}")
    return value


class RigStateWriter:
    """Stores ``snapshot()`` as the rig's state after each :meth:`changed`, on its own thread."""

    def __init__(self, records: Records, rig_id: str, snapshot: Callable[[], dict[str, Any]],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.records, self.rig_id, self.snapshot, self.clock = records, rig_id, snapshot, clock
        self._changes = 0  # changes asked for
        self._written = 0  # of those, how many the newest write covers
        self._condition = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def load(self) -> dict[str, Any] | None:
        """The rig's stored state (None: none stored, or the database is away)."""
        try:
            with self.records.sessions() as session:
                return rig_states.load_state(session, self.rig_id)
        except SQLAlchemyError as exc:
            log.warning("rig state not restored (database away: %s): the settings' defaults "
                        "apply", type(exc).__name__)
            return None

    def changed(self) -> None:
        """The state changed: write it soon (the newest state, once)."""
        with self._condition:
            self._changes += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rig-state-writer",
                                                daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every change so far is written (False: not within ``timeout_s``)."""
        with self._condition:
            target = self._changes
            return self._condition.wait_for(lambda: self._written >= target, timeout_s)

    def close(self, timeout_s: float = 5.0) -> bool:
        """Write what is left (for at most ``timeout_s``), then end the thread."""
        written = self.flush(timeout_s)
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        return written

    def _run(self) -> None:
        failing = False
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._closing or self._changes > self._written)
                if self._changes <= self._written:
                    return  # closing, nothing left to write
                target = self._changes
            try:
                state = self.snapshot()
                with self.records.sessions() as session:
                    rig_states.save_state(session, self.rig_id, state, self.clock())
            except SQLAlchemyError as exc:
                if not failing:
                    log.warning("rig state not stored (database away: %s): trying again every "
                                "%.0f s", type(exc).__name__, RETRY_S)
                failing = True
                with self._condition:
                    if self._closing:
                        return
                    self._condition.wait(RETRY_S)
                continue
            if failing:
                log.info("rig state stored again")
            failing = False
            with self._condition:
                self._written = target
                self._condition.notify_all()
