"""paper ballots: ballots.channel and the pending paper_entries table

Revision ID: e5a1c7d20b4f
Revises: e5f7a9c1d3b6
Create Date: 2026-11-30 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c7d20b4f'
down_revision = 'e5f7a9c1d3b6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=False,
                                      server_default='phone'))
    op.create_table(
        'paper_entries',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('sheet', sa.String(length=64), nullable=False),
        sa.Column('keyer', sa.String(length=64), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('mark', sa.String(length=8), nullable=False),
        sa.Column('answers', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['respondent_groups.id'],
                                name=op.f('fk_paper_entries_group_id_respondent_groups'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'],
                                name=op.f('fk_paper_entries_round_id_rounds'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_entries')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_paper_entries_round_sheet', 'paper_entries', ['round_id', 'sheet'],
                    unique=False)


def downgrade():
    op.drop_index('ix_paper_entries_round_sheet', table_name='paper_entries')
    op.drop_table('paper_entries')
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_column('channel')
