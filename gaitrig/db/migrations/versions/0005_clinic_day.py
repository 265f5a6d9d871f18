"""A clinic day end to end: who started each trial, calibrations per board, the rig's state and
login sessions kept across a restart.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ADD COLUMN on both engines: no batch copy of trials on SQLite, where dropping the
    # old table would cascade into every trial's chunks (SQLite takes the REFERENCES inline).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE trials ADD COLUMN clinician_id INTEGER "
                   "REFERENCES clinicians (id) ON DELETE SET NULL")
    else:
        op.add_column("trials", sa.Column("clinician_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_trials_clinician_id", "trials", "clinicians",
                              ["clinician_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "board_calibrations",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("rig_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("serial_number", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("calibration", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinician_id", sa.Integer(),
                  sa.ForeignKey("clinicians.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_board_calibrations_board", "board_calibrations",
                    ["role", "serial_number", "created_at"])
    op.create_table(
        "rig_states",
        sa.Column("rig_id", sa.String(64), primary_key=True),
        sa.Column("state", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("clinician_id", sa.Integer(),
                  sa.ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(128), nullable=False),
        sa.Column("password_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_sessions_clinician_id", "login_sessions", ["clinician_id"])


def downgrade() -> None:
    op.drop_table("login_sessions")
    op.drop_table("rig_states")
    op.drop_table("board_calibrations")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_trials_clinician_id", "trials", type_="foreignkey")
    op.drop_column("trials", "clinician_id")
