"""Clinic records: clinicians, patients (body mass, prosthesis components), sessions, trial
setup, raw and result chunks, step events, trial metrics, alarms, notes with pain entries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _owner(table: str, nullable: bool = False) -> "sa.Column[int]":
    """``<table singular>_id``, a foreign key to ``table`` that is deleted with its owner."""
    return sa.Column(f"{table[:-1]}_id", sa.Integer(),
                     sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "clinicians",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("identifier", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("amputation_side", sa.String(16), nullable=True),
        sa.Column("amputation_level", sa.String(32), nullable=True),
        sa.Column("amputation_cause", sa.String(64), nullable=True),
        sa.Column("amputation_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("amputation_side IN ('left', 'right', 'bilateral')",
                           name="ck_patients_amputation_side"),
    )
    op.create_index("ix_patients_name", "patients", ["name"])
    op.create_table(
        "body_mass_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        _owner("patients"),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("mass_kg", sa.Float(), nullable=False),
        sa.CheckConstraint("mass_kg > 0 AND mass_kg < 400", name="ck_body_mass_kg"),
    )
    op.create_index("ix_body_mass_records_patient_id", "body_mass_records", ["patient_id"])
    op.create_table(
        "prosthesis_components",
        sa.Column("id", sa.Integer(), primary_key=True),
        _owner("patients"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("fitted_on", sa.Date(), nullable=False),
        sa.Column("removed_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_index("ix_prosthesis_components_patient_id", "prosthesis_components",
                    ["patient_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _owner("patients"),
        sa.Column("clinician_id", sa.Integer(),
                  sa.ForeignKey("clinicians.id", ondelete="SET NULL"), nullable=True),
        sa.Column("rig_id", sa.String(64), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_index("ix_sessions_patient_started", "sessions", ["patient_id", "started_at"])

    with op.batch_alter_table("trials") as trials:
        trials.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        trials.add_column(sa.Column("targets", JSON, nullable=True))
        trials.add_column(sa.Column("footwear", sa.String(200), nullable=True))
        trials.add_column(sa.Column("prosthesis_setup", JSON, nullable=True))
        trials.add_column(sa.Column("calibration", JSON, nullable=True))
        trials.add_column(sa.Column("calibration_version", sa.String(64), nullable=True))
        trials.add_column(sa.Column("firmware_versions", JSON, nullable=True))
        trials.add_column(sa.Column("setup", JSON, nullable=True))
        trials.add_column(sa.Column("notes", sa.Text(), nullable=False, server_default=""))
        trials.add_column(sa.Column("recording_status", sa.String(16), nullable=False,
                                    server_default="none"))
        trials.create_foreign_key("fk_trials_session_id_sessions", "sessions", ["session_id"],
                                  ["id"], ondelete="CASCADE")
        trials.create_index("ix_trials_session_id", ["session_id"])
    with op.batch_alter_table("trials") as trials:
        trials.alter_column("notes", server_default=None)
        trials.alter_column("recording_status", server_default=None)

    op.create_table(
        "trial_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        _owner("trials"),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("serial_number", sa.BigInteger(), nullable=True),
        sa.Column("firmware_version", sa.String(32), nullable=True),
        sa.Column("sample_rate_hz", sa.Float(), nullable=True),
        sa.Column("channel_map", JSON, nullable=False),
        sa.UniqueConstraint("trial_id", "role", name="uq_trial_devices_role"),
    )
    op.create_table(
        "recording_chunks",
        sa.Column("id", BIG_ID, primary_key=True),
        _owner("trials"),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("channel_count", sa.Integer(), nullable=False),
        sa.Column("first_host_time_s", sa.Float(), nullable=False),
        sa.Column("last_host_time_s", sa.Float(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("first_device_time_us", sa.BigInteger(), nullable=False),
        sa.Column("last_device_time_us", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("trial_id", "role", "chunk_index", name="uq_recording_chunks_index"),
    )
    op.create_table(
        "result_chunks",
        sa.Column("id", BIG_ID, primary_key=True),
        _owner("trials"),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("first_host_time_s", sa.Float(), nullable=False),
        sa.Column("last_host_time_s", sa.Float(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("trial_id", "chunk_index", name="uq_result_chunks_index"),
    )
    op.create_table(
        "step_events",
        sa.Column("id", BIG_ID, primary_key=True),
        _owner("trials"),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("foot", sa.String(8), nullable=False),
        sa.Column("prosthetic", sa.Boolean(), nullable=False),
        sa.Column("heel_strike_s", sa.Float(), nullable=False),
        sa.Column("toe_off_s", sa.Float(), nullable=False),
        sa.Column("stance_s", sa.Float(), nullable=False),
        sa.Column("peak_load_pct_bw", sa.Float(), nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.UniqueConstraint("trial_id", "step_index", name="uq_step_events_index"),
    )
    op.create_table(
        "trial_metrics",
        sa.Column("trial_id", sa.Integer(), sa.ForeignKey("trials.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("computed_at", TIME, nullable=False),
        sa.Column("analysis_version", sa.String(32), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("step_count", sa.Integer(), nullable=False),
        sa.Column("prosthetic_load_share_pct", sa.Float(), nullable=True),
        sa.Column("stance_time_symmetry_index_pct", sa.Float(), nullable=True),
        sa.Column("bar_reliance_mean_pct_bw", sa.Float(), nullable=True),
        sa.Column("cadence_steps_per_min", sa.Float(), nullable=True),
        sa.Column("sway_area_95_mm2", sa.Float(), nullable=True),
        sa.Column("summary", JSON, nullable=False),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), primary_key=True),
        _owner("trials"),
        sa.Column("at_s", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_alarms_trial_id", "alarms", ["trial_id"])
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _owner("patients"),
        _owner("sessions", nullable=True),
        _owner("trials", nullable=True),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("clinician_id", sa.Integer(),
                  sa.ForeignKey("clinicians.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("pain_score", sa.Integer(), nullable=True),
        sa.Column("pain_location", sa.String(64), nullable=True),
        sa.CheckConstraint("pain_score IS NULL OR (pain_score >= 0 AND pain_score <= 10)",
                           name="ck_notes_pain_score"),
    )
    op.create_index("ix_notes_patient_created", "notes", ["patient_id", "created_at"])
    op.create_index("ix_notes_session_id", "notes", ["session_id"])
    op.create_index("ix_notes_trial_id", "notes", ["trial_id"])


def downgrade() -> None:
    for table in ("notes", "alarms", "trial_metrics", "step_events", "result_chunks",
                  "recording_chunks", "trial_devices"):
        op.drop_table(table)
    with op.batch_alter_table("trials") as trials:
        trials.drop_index("ix_trials_session_id")
        trials.drop_constraint("fk_trials_session_id_sessions", type_="foreignkey")
        for column in ("recording_status", "notes", "setup", "firmware_versions",
                       "calibration_version", "calibration", "prosthesis_setup", "footwear",
                       "targets", "session_id"):
            trials.drop_column(column)
    for table in ("sessions", "prosthesis_components", "body_mass_records", "patients",
                  "clinicians"):
        op.drop_table(table)
