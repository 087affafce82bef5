"""round.traces_pending: the close has not yet cleared the database's traces

Revision ID: c3d9e2f41a07
Revises: c3d1e5a7f2b9
Create Date: 2026-11-30 14:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d9e2f41a07'
down_revision = 'c3d1e5a7f2b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('traces_pending', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('traces_pending')
