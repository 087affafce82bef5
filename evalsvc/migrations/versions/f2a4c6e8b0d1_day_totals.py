"""day_totals: the weekly report's totals kept per day, batch and committee

With committee_branches (how many branches each parent has in each batch). Filled in from the rounds, flags and audit log that exist (services/day_totals.rebuild),
so a report of a past period reads the same as before.

Revision ID: f2a4c6e8b0d1
Revises: 4acf10c853d6
Create Date: 2026-11-30 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2a4c6e8b0d1'
down_revision = '4acf10c853d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'day_totals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('rounds_held', sa.Integer(), nullable=False),
        sa.Column('cards', sa.Integer(), nullable=False),
        sa.Column('ballots', sa.Integer(), nullable=False),
        sa.Column('lowest', sa.Double(), nullable=True),
        sa.Column('flags_raised', sa.Integer(), nullable=False),
        sa.Column('flags_confirmed', sa.Integer(), nullable=False),
        sa.Column('make_up', sa.Integer(), nullable=False),
        sa.Column('yellow_cards', sa.Integer(), nullable=False),
        sa.Column('admonishments', sa.Integer(), nullable=False),
        sa.Column('changes', sa.Integer(), nullable=False),
        sa.Column('zone', sa.String(length=64), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_day_totals')),
    )
    op.create_index('ix_day_totals_day', 'day_totals', ['day', 'parent_id', 'batch_id'])
    op.create_index('ix_day_totals_parent', 'day_totals', ['parent_id', 'day'])
    op.create_table(
        'committee_branches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('branches', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_branches')),
    )
    op.create_index(op.f('ix_committee_branches_parent_id'), 'committee_branches',
                    ['parent_id'])
    from evalsvc.services.day_totals import rebuild

    rebuild(op.get_bind())


def downgrade():
    op.drop_index(op.f('ix_committee_branches_parent_id'), table_name='committee_branches')
    op.drop_table('committee_branches')
    op.drop_index('ix_day_totals_parent', table_name='day_totals')
    op.drop_index('ix_day_totals_day', table_name='day_totals')
    op.drop_table('day_totals')
