"""The verdict kept in one place: rounds.verdict_status typed; 补课 decided on the round

A proposed 补课 used to be a MAKE_UP flag with a decision of its own, synced by hand with
``rounds.passed`` / ``rounds.verdict_status``. Now the round holds the verdict and a MAKE_UP
flag exists only once 补课 is decided, for the branch's follow-up. Undecided MAKE_UP flags
are dropped (the round's proposal says the same); decided ones stay as they were, and their
audit entries still verify (services/verdict_check.py reads them).

Revision ID: f3a8b1c6d2e4
Revises: d7a1c0e5b3f9
Create Date: 2026-11-30 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a8b1c6d2e4'
down_revision = 'd7a1c0e5b3f9'
branch_labels = None
depends_on = None

DECISION = sa.Enum('proposed', 'confirmed', 'overridden', name='decision', native_enum=False,
                   create_constraint=True, length=12)


def upgrade():
    op.execute("DELETE FROM flags WHERE kind = 'make_up' AND status = 'proposed'")
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.alter_column('verdict_status', existing_type=sa.String(length=12),
                              type_=DECISION, existing_nullable=True)


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.alter_column('verdict_status', existing_type=DECISION,
                              type_=sa.String(length=12), existing_nullable=True)
