"""member roster fields: order number, gender, birth month, position, retired

Revision ID: e5b7c9d1a3f4
Revises: c3d5e7f9a1b2
Create Date: 2026-11-30 14:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b7c9d1a3f4'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sort_order', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('gender', sa.Enum('male', 'female', name='gender', native_enum=False, create_constraint=True, length=8), nullable=True))
        batch_op.add_column(sa.Column('birth_month', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('position', sa.String(length=60), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('retired', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('retired')
        batch_op.drop_column('position')
        batch_op.drop_column('birth_month')
        # SQLite's table copy would otherwise keep the CHECK on the dropped column.
        batch_op.drop_constraint(batch_op.f('ck_members_gender'), type_='check')
        batch_op.drop_column('gender')
        batch_op.drop_column('sort_order')
