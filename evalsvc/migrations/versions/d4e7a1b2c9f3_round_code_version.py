"""round.code_version: short (12-character) card codes for new rounds; old rounds keep theirs

Revision ID: d4e7a1b2c9f3
Revises: b8e4c2a6d0f3
Create Date: 2026-11-30 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e7a1b2c9f3'
down_revision = 'b8e4c2a6d0f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_version', sa.Integer(), nullable=False,
                                      server_default='1'))


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('code_version')
