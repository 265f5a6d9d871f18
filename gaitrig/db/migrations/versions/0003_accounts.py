"""Clinician accounts (user name, argon2 password hash, role, failed logins, lockout) and the
display link of each rig (its watch-only token).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("clinicians") as clinicians:
        clinicians.add_column(sa.Column("username", sa.String(64), nullable=True))
        clinicians.add_column(sa.Column("password_hash", sa.String(256), nullable=True))
        clinicians.add_column(sa.Column("account_role", sa.String(16), nullable=True))
        clinicians.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                        server_default="0"))
        clinicians.add_column(sa.Column("locked_until", TIME, nullable=True))
        clinicians.create_unique_constraint("uq_clinicians_username", ["username"])
        clinicians.create_check_constraint(
            "ck_clinicians_account_role",
            "account_role IS NULL OR account_role IN ('admin', 'therapist')")
    with op.batch_alter_table("clinicians") as clinicians:
        clinicians.alter_column("failed_logins", server_default=None)
    op.create_table(
        "display_links",
        sa.Column("rig_id", sa.String(64), primary_key=True),
        sa.Column("token", sa.String(128), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("created_by", sa.Integer(),
                  sa.ForeignKey("clinicians.id", ondelete="SET NULL"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("display_links")
    with op.batch_alter_table("clinicians") as clinicians:
        clinicians.drop_constraint("ck_clinicians_account_role", type_="check")
        clinicians.drop_constraint("uq_clinicians_username", type_="unique")
        for column in ("locked_until", "failed_logins", "account_role", "password_hash",
                       "username"):
            clinicians.drop_column(column)
