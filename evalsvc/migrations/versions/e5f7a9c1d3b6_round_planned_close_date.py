"""rounds: planned close date (计划结束日期) and the live view's index

Revision ID: e5f7a9c1d3b6
Revises: e5b7c9d1a3f4
Create Date: 2026-11-30 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f7a9c1d3b6'
down_revision = 'e5b7c9d1a3f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_close_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_rounds_live', ['campaign_id', 'state', 'planned_close_on'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index('ix_rounds_live')
        batch_op.drop_column('planned_close_on')
