"""Nye saker candidate indexes: pause columns after the due date

A pause is read from its resume day and its flag together (as svea_web.dunning reads it), which is no
equality to seek by: the due-date range now follows the equalities directly, and the by-customer index
carries every column Nye saker filters by.

Revision ID: 94a9563fb283
Revises: f9389fbd43b0
Create Date: 2026-11-28 02:32:54.156822

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "94a9563fb283"
down_revision = "f9389fbd43b0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer_post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_svea_candidates"))
        batch_op.create_index(
            "ix_post_svea_candidates",
            [
                "client_id",
                "status",
                "kind",
                "svea_case_id",
                "due_date",
                "open_amount",
                "customer_id",
                "reminder_step",
                "reminder_deadline",
                "paused",
                "paused_until",
            ],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_post_svea_candidates_customer"))
        batch_op.create_index(
            "ix_post_svea_candidates_customer",
            [
                "client_id",
                "status",
                "kind",
                "svea_case_id",
                "customer_id",
                "due_date",
                "open_amount",
                "reminder_step",
                "reminder_deadline",
                "paused",
                "paused_until",
            ],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("customer_post", schema=None) as batch_op:
        batch_op.drop_index("ix_post_svea_candidates_customer")
        batch_op.create_index(
            batch_op.f("ix_post_svea_candidates_customer"),
            ["client_id", "status", "kind", "svea_case_id", "paused", "customer_id", "due_date"],
            unique=False,
        )
        batch_op.drop_index("ix_post_svea_candidates")
        batch_op.create_index(
            batch_op.f("ix_post_svea_candidates"),
            [
                "client_id",
                "status",
                "kind",
                "svea_case_id",
                "paused",
                "due_date",
                "open_amount",
                "customer_id",
                "reminder_step",
                "reminder_deadline",
                "paused_until",
            ],
            unique=False,
        )
