"""Database tables (SQLAlchemy 2, typed). Times are stored in UTC; units are in the column names.

Who owns what (``ON DELETE CASCADE`` in the database, so erasing a patient is one ``DELETE``):

    patients ─┬─ body_mass_records
              ├─ prosthesis_components
              ├─ notes (comfort/pain entries too; optionally tied to a session or a trial)
              └─ sessions ── trials ─┬─ trial_devices      (each board used: firmware, channels)
                                     ├─ recording_chunks   (raw frames, <= 1 s per chunk)
                                     ├─ result_chunks      (computed loads/CoP, <= 1 s)
                                     ├─ step_events        (one row per step)
                                     ├─ trial_metrics      (one row per trial)
                                     └─ alarms
    clinicians ── sessions (therapist), notes (author): SET NULL when a clinician is removed
               ├─ display_links (who issued a rig's display token), audit_events (who did it)

A trial may have no session (``/api/trials`` without ``session_id``): it then belongs to no
patient. Chunk blobs are encoded by :mod:`gaitrig.db.codec`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gaitrig.db.types import UtcDateTime

#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
#: Primary keys of the big tables: 64-bit on PostgreSQL; SQLite's INTEGER PRIMARY KEY is 64-bit
#: already (and only that exact type is its rowid alias, which autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")

SIDES = ("left", "right")
AMPUTATION_SIDES = ("left", "right", "bilateral")
#: The amputation levels the records keep, distal to proximal: the one list the records pages,
#: the console's patient form and both APIs offer (``GET /api/amputation-levels``).
AmputationLevel = Literal["partial_foot", "ankle_disarticulation", "transtibial",
                          "knee_disarticulation", "transfemoral", "hip_disarticulation", "other"]
AMPUTATION_LEVELS: tuple[str, ...] = get_args(AmputationLevel)
COMPONENT_KINDS = ("foot", "knee", "socket", "liner", "pylon", "suspension", "other")
NOTE_AUTHORS = ("patient", "therapist", "prosthetist")
BOARD_ROLES = ("insole_left", "insole_right", "bars")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: Json, list[Any]: Json}


def _cascade(target: str) -> Any:
    return ForeignKey(target, ondelete="CASCADE")


ACCOUNT_ROLES = ("admin", "therapist")


class Clinician(Base):
    """A therapist or prosthetist of the clinic; with a login account when ``username`` is set.

    ``role`` is the clinician's profession; ``account_role`` what the account may do
    (:data:`ACCOUNT_ROLES`). ``password_hash`` is an argon2id hash (never the password);
    ``failed_logins`` counts wrong passwords since the last right one, and ``locked_until``
    (UTC) refuses logins until then. ``active`` false: the account may not log in.
    """

    __tablename__ = "clinicians"
    __table_args__ = (
        CheckConstraint("account_role IS NULL OR account_role IN ('admin', 'therapist')",
                        name="ck_clinicians_account_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), default="physiotherapist")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    username: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    password_hash: Mapped[str | None] = mapped_column(String(256), default=None)
    account_role: Mapped[str | None] = mapped_column(String(16), default=None)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class DisplayLink(Base):
    """The one display token of a rig: it lets the patient's screen watch the live stream, and
    nothing else. Replacing the row revokes the old token."""

    __tablename__ = "display_links"

    rig_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL"), default=None)


class Patient(Base):
    """A person training on the rig. ``identifier`` is the clinic's own (record number)."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("amputation_side IN ('left', 'right', 'bilateral')",
                        name="ck_patients_amputation_side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, default=None)
    amputation_side: Mapped[str | None] = mapped_column(String(16), default=None)
    amputation_level: Mapped[str | None] = mapped_column(String(32), default=None)
    amputation_cause: Mapped[str | None] = mapped_column(String(64), default=None)
    amputation_date: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    body_masses: Mapped[list[BodyMass]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True,
        order_by="BodyMass.measured_on")
    components: Mapped[list[ProsthesisComponent]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ProsthesisComponent.fitted_on")


class BodyMass(Base):
    """One weighing: the body mass history of a patient (with the prosthesis on)."""

    __tablename__ = "body_mass_records"
    __table_args__ = (CheckConstraint("mass_kg > 0 AND mass_kg < 400", name="ck_body_mass_kg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_cascade("patients.id"), index=True)
    measured_on: Mapped[date] = mapped_column(Date)
    mass_kg: Mapped[float] = mapped_column(Float)

    patient: Mapped[Patient] = relationship(back_populates="body_masses")


class ProsthesisComponent(Base):
    """A prosthesis part fitted to a patient (foot, knee, socket, liner ...) and when."""

    __tablename__ = "prosthesis_components"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_cascade("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))  # make and model
    fitted_on: Mapped[date] = mapped_column(Date)
    removed_on: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[Patient] = relationship(back_populates="components")


class TrainingSession(Base):
    """One visit of a patient to the rig, with a therapist; holds the trials."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_patient_started", "patient_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_cascade("patients.id"))
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL"), default=None)
    rig_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")


class Trial(Base):
    """One recorded exercise on the rig, from start to stop (``ended_at`` is NULL while running).

    What the rig needs to reprocess the trial exactly is kept with it: the calibration dicts,
    the insole layout, the body mass and the prosthetic side used (``setup``).
    """

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    rig_id: Mapped[str] = mapped_column(String(64))
    exercise: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    session_id: Mapped[int | None] = mapped_column(_cascade("sessions.id"), default=None,
                                                   index=True)
    # Therapist's targets (% body weight): band, safety limit, hand support ...
    targets: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    footwear: Mapped[str | None] = mapped_column(String(200), default=None)
    # The prosthesis as set up for this trial: components and alignment notes.
    prosthesis_setup: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    calibration: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    calibration_version: Mapped[str | None] = mapped_column(String(64), default=None)
    firmware_versions: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # body_mass_kg, prosthetic_side, insole_sensors, shoe_size_eu, insole_rate_hz
    setup: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Who started it on the rig (the logged-in clinician; kept when the trial has no session).
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL", name="fk_trials_clinician_id"),
        default=None)
    # none | recording | complete | gaps (frames were lost: see alarms) | interrupted (the
    # server was killed mid-trial: closed at the next start from what was stored)
    recording_status: Mapped[str] = mapped_column(String(16), default="none")


class TrialDevice(Base):
    """A board used in a trial: which one, its firmware, and what each channel is."""

    __tablename__ = "trial_devices"
    __table_args__ = (UniqueConstraint("trial_id", "role", name="uq_trial_devices_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(_cascade("trials.id"))
    role: Mapped[str] = mapped_column(String(16))
    serial_number: Mapped[int | None] = mapped_column(BigInteger, default=None)
    firmware_version: Mapped[str | None] = mapped_column(String(32), default=None)
    sample_rate_hz: Mapped[float | None] = mapped_column(Float, default=None)
    channel_map: Mapped[list[Any]] = mapped_column(default=list)  # channel names in order


class RecordingChunk(Base):
    """Raw DATA frames of one board, at most one second of them (blob: :mod:`gaitrig.db.codec`,
    arrays ``host_time_s`` float64, ``seq`` int64, ``device_time_us`` int64, ``counts`` int64 (n,
    k))."""

    __tablename__ = "recording_chunks"
    __table_args__ = (UniqueConstraint("trial_id", "role", "chunk_index",
                                       name="uq_recording_chunks_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trial_id: Mapped[int] = mapped_column(_cascade("trials.id"))
    role: Mapped[str] = mapped_column(String(16))
    chunk_index: Mapped[int] = mapped_column(Integer)
    frame_count: Mapped[int] = mapped_column(Integer)
    channel_count: Mapped[int] = mapped_column(Integer)
    first_host_time_s: Mapped[float] = mapped_column(Float)
    last_host_time_s: Mapped[float] = mapped_column(Float)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    first_device_time_us: Mapped[int] = mapped_column(BigInteger)
    last_device_time_us: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ResultChunk(Base):
    """What the live path computed, at most one second of rows (blob: :mod:`gaitrig.db.codec`,
    arrays ``host_time_s`` float64 and one float32 array per quantity of the live pipeline)."""

    __tablename__ = "result_chunks"
    __table_args__ = (UniqueConstraint("trial_id", "chunk_index",
                                       name="uq_result_chunks_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trial_id: Mapped[int] = mapped_column(_cascade("trials.id"))
    chunk_index: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    first_host_time_s: Mapped[float] = mapped_column(Float)
    last_host_time_s: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class StepEvent(Base):
    """One step (one foot's contact): its gait events and its metrics (``metrics``: every
    field of :class:`gaitrig.processing.metrics.StepMetrics`). Times in s from the trial's start."""

    __tablename__ = "step_events"
    __table_args__ = (UniqueConstraint("trial_id", "step_index", name="uq_step_events_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trial_id: Mapped[int] = mapped_column(_cascade("trials.id"))
    step_index: Mapped[int] = mapped_column(Integer)
    foot: Mapped[str] = mapped_column(String(8))
    prosthetic: Mapped[bool] = mapped_column(Boolean)
    heel_strike_s: Mapped[float] = mapped_column(Float)
    toe_off_s: Mapped[float] = mapped_column(Float)
    stance_s: Mapped[float] = mapped_column(Float)
    peak_load_pct_bw: Mapped[float | None] = mapped_column(Float, default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TrialMetric(Base):
    """A trial's summary, computed from its stored raw recording (so a replay reproduces it).

    The columns are what the progress charts plot; ``summary`` holds everything (the walking
    metrics without the steps, the standing-balance measures, the analysis version).
    """

    __tablename__ = "trial_metrics"

    trial_id: Mapped[int] = mapped_column(_cascade("trials.id"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    analysis_version: Mapped[str] = mapped_column(String(32))
    duration_s: Mapped[float] = mapped_column(Float)
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    prosthetic_load_share_pct: Mapped[float | None] = mapped_column(Float, default=None)
    stance_time_symmetry_index_pct: Mapped[float | None] = mapped_column(Float, default=None)
    bar_reliance_mean_pct_bw: Mapped[float | None] = mapped_column(Float, default=None)
    cadence_steps_per_min: Mapped[float | None] = mapped_column(Float, default=None)
    sway_area_95_mm2: Mapped[float | None] = mapped_column(Float, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Alarm(Base):
    """Something the rig warned about during a trial (safety limit, a board lost, frames lost)."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    trial_id: Mapped[int] = mapped_column(_cascade("trials.id"), index=True)
    at_s: Mapped[float] = mapped_column(Float)  # since the trial's start
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Note(Base):
    """A note by the patient, a therapist or the prosthetist; with a comfort/pain entry
    (``pain_score`` 0-10, ``pain_location``) when it records one."""

    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint("pain_score IS NULL OR (pain_score >= 0 AND pain_score <= 10)",
                        name="ck_notes_pain_score"),
        Index("ix_notes_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(_cascade("patients.id"))
    session_id: Mapped[int | None] = mapped_column(_cascade("sessions.id"), default=None,
                                                   index=True)
    trial_id: Mapped[int | None] = mapped_column(_cascade("trials.id"), default=None,
                                                 index=True)
    author_role: Mapped[str] = mapped_column(String(16))
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text, default="")
    pain_score: Mapped[int | None] = mapped_column(Integer, default=None)
    pain_location: Mapped[str | None] = mapped_column(String(64), default=None)


class AuditEvent(Base):
    """Who changed what, when: targets, patients (record, body mass), calibrations.

    ``details`` is a short JSON of the change that never holds a patient's name (record ids,
    field names, numbers).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL"), default=None, index=True)
    rig_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BoardCalibration(Base):
    """One calibration of one board (its serial number from the handshake): a tare, a bars gain
    from a known weight, or the insoles' body-weight scale. The newest row per role and serial
    number is the board's calibration, loaded whenever that board connects (also after a
    restart). ``calibration`` is the board's calibration dict
    (:mod:`gaitrig.processing.calibration`); ``details`` what the procedure measured (reference mass
    in kg, residuals ...)."""

    __tablename__ = "board_calibrations"
    __table_args__ = (Index("ix_board_calibrations_board", "role", "serial_number",
                            "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rig_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    serial_number: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))  # tare | known_weight | body_weight
    calibration: Mapped[dict[str, Any]] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    clinician_id: Mapped[int | None] = mapped_column(
        ForeignKey("clinicians.id", ondelete="SET NULL"), default=None)


class RigState(Base):
    """What the therapist set on a rig (patient, exercise, targets, unit, feedback, footwear,
    the open session), restored when its server starts again."""

    __tablename__ = "rig_states"

    rig_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoginSessionRow(Base):
    """A clinician's login session, kept across a server restart. Only the SHA-256 of the
    cookie's value is stored (``token_hash``), as with display links."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    clinician_id: Mapped[int] = mapped_column(_cascade("clinicians.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(128))
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
