"""Reminder run confirmed by a job: the digest the user confirmed, and why a job handed it back

Revision ID: f06a5149b05c
Revises: 94a9563fb283
Create Date: 2026-11-28 02:38:01.305660

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f06a5149b05c"
down_revision = "94a9563fb283"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reminder_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("confirm_problem", sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table("reminder_run", schema=None) as batch_op:
        batch_op.drop_column("confirm_problem")
        batch_op.drop_column("confirm_digest")
