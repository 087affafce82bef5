"""rounds: a partial index of the proposed verdicts the dashboard counts

Revision ID: b3e5d7f9a2c4
Revises: a1f3c5e7b9d2
Create Date: 2026-11-30 20:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e5d7f9a2c4'
down_revision = 'a1f3c5e7b9d2'
branch_labels = None
depends_on = None

PROPOSED = sa.text("verdict_status = 'proposed'")


def upgrade():
    op.create_index('ix_rounds_proposed', 'rounds', ['campaign_id', 'passed', 'rehearsal'],
                    postgresql_where=PROPOSED, sqlite_where=PROPOSED)


def downgrade():
    op.drop_index('ix_rounds_proposed', table_name='rounds')
