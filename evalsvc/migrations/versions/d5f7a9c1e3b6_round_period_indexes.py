"""rounds: indexes for the weekly report's period and the scrub's pending rounds

Revision ID: d5f7a9c1e3b6
Revises: e8b3f1a6c2d4
Create Date: 2026-11-30 21:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5f7a9c1e3b6'
down_revision = 'e8b3f1a6c2d4'
branch_labels = None
depends_on = None

PENDING = sa.text("traces_pending")


def upgrade():
    op.create_index('ix_rounds_closed_on', 'rounds', ['closed_on'])
    op.create_index('ix_rounds_traces_pending', 'rounds', ['id'],
                    postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade():
    op.drop_index('ix_rounds_traces_pending', table_name='rounds')
    op.drop_index('ix_rounds_closed_on', table_name='rounds')
