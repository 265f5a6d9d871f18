"""What the queries hand out: frozen dataclasses of plain values (the API shows them as JSON).

Times are timezone-aware UTC datetimes, dates are dates; units are in the field names. Metrics
that could not be computed are None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Self

from gaitrig.db import models


class _RowView:
    """A view whose fields are its row's attributes of the same names."""

    __slots__ = ()

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(*(getattr(row, f.name) for f in fields(cls)))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ClinicianOut(_RowView):
    id: int
    name: str
    role: str
    active: bool


@dataclass(frozen=True, slots=True)
class PatientOut(_RowView):
    id: int
    identifier: str
    name: str
    date_of_birth: date | None
    amputation_side: str | None
    amputation_level: str | None
    amputation_cause: str | None
    amputation_date: date | None
    notes: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PatientListItem:
    """A row of the patient list: who, and how much training is on record."""

    id: int
    identifier: str
    name: str
    date_of_birth: date | None
    amputation_side: str | None
    amputation_level: str | None
    session_count: int
    last_session_at: datetime | None


@dataclass(frozen=True, slots=True)
class PatientPage:
    total: int  # patients matching the search, of which ``items`` is one page
    items: list[PatientListItem]


@dataclass(frozen=True, slots=True)
class BodyMassOut(_RowView):
    id: int
    measured_on: date
    mass_kg: float


@dataclass(frozen=True, slots=True)
class ComponentOut(_RowView):
    id: int
    kind: str
    description: str
    fitted_on: date
    removed_on: date | None
    notes: str


@dataclass(frozen=True, slots=True)
class NoteOut(_RowView):
    id: int
    patient_id: int
    session_id: int | None
    trial_id: int | None
    author_role: str
    clinician_id: int | None
    created_at: datetime
    text: str
    pain_score: int | None
    pain_location: str | None


@dataclass(frozen=True, slots=True)
class SessionOut(_RowView):
    id: int
    patient_id: int
    clinician_id: int | None
    rig_id: str
    started_at: datetime
    ended_at: datetime | None
    notes: str


@dataclass(frozen=True, slots=True)
class MetricsOut(_RowView):
    """A trial's summary metrics (the progress charts' quantities, and everything else in
    ``summary``)."""

    computed_at: datetime
    analysis_version: str
    duration_s: float
    step_count: int
    prosthetic_load_share_pct: float | None
    stance_time_symmetry_index_pct: float | None
    bar_reliance_mean_pct_bw: float | None
    cadence_steps_per_min: float | None
    sway_area_95_mm2: float | None
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlarmOut(_RowView):
    id: int
    at_s: float
    kind: str
    message: str
    value: float | None


@dataclass(frozen=True, slots=True)
class DeviceOut:
    role: str
    serial_number: int | None
    firmware_version: str | None
    sample_rate_hz: float | None
    channel_map: list[Any]

    @classmethod
    def of(cls, row: models.TrialDevice) -> DeviceOut:
        return cls(row.role, row.serial_number, row.firmware_version, row.sample_rate_hz,
                   list(row.channel_map))


@dataclass(frozen=True, slots=True)
class TrialSummary:
    """A trial in a list (a session's trials, a patient's history)."""

    id: int
    session_id: int | None
    exercise: str
    started_at: datetime
    ended_at: datetime | None
    footwear: str | None
    recording_status: str
    metrics: MetricsOut | None
    clinician_id: int | None = None  # who started it on the rig


@dataclass(frozen=True, slots=True)
class TrialDetail:
    id: int
    rig_id: str
    session_id: int | None
    patient_id: int | None
    exercise: str
    started_at: datetime
    ended_at: datetime | None
    targets: dict[str, Any] | None
    footwear: str | None
    prosthesis_setup: dict[str, Any] | None
    calibration_version: str | None
    firmware_versions: dict[str, Any] | None
    setup: dict[str, Any] | None
    notes: str
    recording_status: str
    devices: list[DeviceOut]
    metrics: MetricsOut | None
    alarms: list[AlarmOut]
    recorded_frames: dict[str, int]  # board role -> frames stored
    recorded_bytes: int  # size of the stored chunks (raw and results)
    clinician_id: int | None = None  # who started it on the rig


@dataclass(frozen=True, slots=True)
class SessionDetail:
    session: SessionOut
    patient: PatientOut
    clinician: ClinicianOut | None
    trials: list[TrialSummary]
    notes: list[NoteOut]


@dataclass(frozen=True, slots=True)
class ProgressPoint:
    """One session of the patient's progress: how many trials it holds and the pain reported in
    its notes (mean and highest score, 0-10). The metrics are in :class:`ProgressSeries`, per
    exercise: a mean over every exercise would mix, say, standing and walking."""

    session_id: int
    started_at: datetime
    trials: int
    pain_score_mean: float | None
    pain_score_max: int | None


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One session on a progress line: the mean over its trials of the line's exercise that
    have the metric (``trials`` of them; 0 for a value of the session itself, as pain)."""

    session_id: int
    started_at: datetime
    value: float
    trials: int


@dataclass(frozen=True, slots=True)
class ProgressSeries:
    """One line of a progress chart: a metric taken only from trials of one exercise (``None``:
    the session's own value, the pain in its notes), a point per session that has it, oldest
    first."""

    metric: str
    exercise: str | None
    points: list[SeriesPoint]


@dataclass(frozen=True, slots=True)
class SessionListItem:
    id: int
    started_at: datetime
    ended_at: datetime | None
    clinician_id: int | None
    rig_id: str
    trial_count: int


@dataclass(frozen=True, slots=True)
class PatientDetail:
    patient: PatientOut
    body_masses: list[BodyMassOut]
    components: list[ComponentOut]
    sessions: list[SessionListItem]  # newest first
    progress: list[ProgressPoint]  # oldest first
    notes: list[NoteOut]  # newest first (at most ``note_limit``)
    current_body_mass_kg: float | None = field(default=None)
    # each metric per exercise it belongs to (gaitrig.db.progress.progress_series), then pain
    progress_series: list[ProgressSeries] = field(default_factory=list)
