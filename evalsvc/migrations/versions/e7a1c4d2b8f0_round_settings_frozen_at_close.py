"""round.settings_json: the rule thresholds a round was decided with, frozen at close

Revision ID: e7a1c4d2b8f0
Revises: e7a1c4d2b9f0
Create Date: 2026-11-30 15:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a1c4d2b8f0'
down_revision = 'e7a1c4d2b9f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings_json', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('settings_json')
