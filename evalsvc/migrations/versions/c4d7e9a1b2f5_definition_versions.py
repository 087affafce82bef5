"""definition_versions: questionnaires the office edits on the web; rounds remember the version

Revision ID: c4d7e9a1b2f5
Revises: d4e7a1b2c9f3
Create Date: 2026-11-30 18:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d7e9a1b2f5'
down_revision = 'd4e7a1b2c9f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'definition_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('state', sa.Enum('draft', 'published', name='versionstate', native_enum=False,
                                   create_constraint=True, length=12), nullable=False),
        sa.Column('created_by', sa.String(length=60), nullable=False),
        sa.Column('created_on', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by', sa.String(length=60), nullable=True),
        sa.Column('published_on', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_versions')),
        sa.UniqueConstraint('name', 'version', name=op.f('uq_definition_versions_name')),
    )
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_versions_name'), ['name'], unique=False)
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_version', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('definition_version')
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_versions_name'))
    op.drop_table('definition_versions')
