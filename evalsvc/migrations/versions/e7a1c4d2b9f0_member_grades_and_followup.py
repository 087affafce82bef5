"""member_grades: 组织评定 of each member after 民主评议, confirmation and 不合格 follow-up

Revision ID: e7a1c4d2b9f0
Revises: e5a1c7d20b4f
Create Date: 2026-11-30 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a1c4d2b9f0'
down_revision = 'e5a1c7d20b4f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'member_grades',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('grade', sa.String(length=16), nullable=False),
        sa.Column('recorded_by', sa.String(length=60), nullable=False),
        sa.Column('recorded_on', sa.Date(), nullable=False),
        sa.Column('confirmed_by', sa.String(length=60), nullable=True),
        sa.Column('confirmed_on', sa.Date(), nullable=True),
        sa.Column('followup', sa.String(length=16), nullable=True),
        sa.Column('education_note', sa.Text(), nullable=True),
        sa.Column('education_on', sa.Date(), nullable=True),
        sa.Column('correction_note', sa.Text(), nullable=True),
        sa.Column('deadline', sa.Date(), nullable=True),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('outcome_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['rounds.id'],
                                name=op.f('fk_member_grades_round_id_rounds'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_member_grades_member_id_members')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_member_grades_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_grades')),
        sa.UniqueConstraint('round_id', 'member_id', name=op.f('uq_member_grades_round_id')),
    )
    with op.batch_alter_table('member_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_grades_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_grades_organisation_id'),
                              ['organisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('member_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_grades_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_member_grades_round_id'))
    op.drop_table('member_grades')
