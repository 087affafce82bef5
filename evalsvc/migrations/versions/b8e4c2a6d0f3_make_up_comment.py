"""flags: the supervision group's comment on a make-up record (补课记录的督导意见)

Revision ID: b8e4c2a6d0f3
Revises: f2b8d4a6c1e3
Create Date: 2026-11-30 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e4c2a6d0f3'
down_revision = 'f2b8d4a6c1e3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('make_up_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('make_up_comment_by', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('make_up_comment_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_column('make_up_comment_on')
        batch_op.drop_column('make_up_comment_by')
        batch_op.drop_column('make_up_comment')
