"""campaign kind settings and stage requirements, as data

Revision ID: c3d5e7f9a1b2
Revises: c3d9e2f41a07
Create Date: 2026-11-30 14:20:00

Each kind's settings live in one JSON column keyed by kind name, so a new kind or a new
threshold needs no migration; which kinds a stage requires is data too. Both are NULL on
existing campaigns, which then take what the installed kinds declare.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d5e7f9a1b2'
down_revision = 'c3d9e2f41a07'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind_settings', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('stage_requirements', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('stage_requirements')
        batch_op.drop_column('kind_settings')
