"""many campaigns: flags, stage progress and transitions belong to a campaign; units as
records; a single-stage campaign; batch-window overrides; how 集体诫勉 was carried out

Revision ID: d7a1c0e5b3f9
Revises: c3d5e7f9a1b2
Create Date: 2026-11-30 15:20:00

Existing rows are backfilled to the existing (latest) campaign; free-text units become
records linked from their organisations.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a1c0e5b3f9'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None

OWNED = ('flags', 'stage_progress', 'transitions')


def upgrade():
    op.create_table(
        'units',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
        sa.UniqueConstraint('name', name=op.f('uq_units_name')),
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('single_stage', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_unique_constraint(batch_op.f('uq_campaigns_name'), ['name'])
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_organisations_unit_id'), ['unit_id'])
        batch_op.create_foreign_key(batch_op.f('fk_organisations_unit_id_units'), 'units',
                                    ['unit_id'], ['id'])
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_override', sa.Text(), nullable=True))
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carried_out_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('carried_out_note', sa.Text(), nullable=True))
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
    _backfill()
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_campaign_id'), ['campaign_id'])
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_campaign_id_campaigns'),
                                        'campaigns', ['campaign_id'], ['id'])
    with op.batch_alter_table('stage_progress', schema=None) as batch_op:
        batch_op.drop_constraint('uq_stage_progress_organisation_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_stage_progress_campaign_id'),
                                          ['campaign_id', 'organisation_id', 'stage'])


def _backfill():
    """Existing rows belong to the latest campaign; free-text units become records."""
    bind = op.get_bind()
    latest = bind.scalar(sa.text('SELECT max(id) FROM campaigns'))
    if latest is not None:
        for table in OWNED:
            bind.execute(sa.text(f'UPDATE {table} SET campaign_id = :c'), {'c': latest})
    names = bind.scalars(sa.text(
        "SELECT DISTINCT unit FROM organisations WHERE unit <> '' ORDER BY unit")).all()
    for name in names:
        bind.execute(sa.text('INSERT INTO units (name) VALUES (:n)'), {'n': name})
    bind.execute(sa.text(
        'UPDATE organisations SET unit_id = (SELECT units.id FROM units '
        'WHERE units.name = organisations.unit)'))


def downgrade():
    with op.batch_alter_table('stage_progress', schema=None) as batch_op:
        batch_op.drop_constraint('uq_stage_progress_campaign_id', type_='unique')
        batch_op.create_unique_constraint('uq_stage_progress_organisation_id',
                                          ['organisation_id', 'stage'])
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_campaign_id_campaigns', type_='foreignkey')
            batch_op.drop_index(f'ix_{table}_campaign_id')
            batch_op.drop_column('campaign_id')
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_column('carried_out_note')
        batch_op.drop_column('carried_out_on')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('window_override')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_organisations_unit_id_units', type_='foreignkey')
        batch_op.drop_index('ix_organisations_unit_id')
        batch_op.drop_column('unit_id')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint('uq_campaigns_name', type_='unique')
        batch_op.drop_column('single_stage')
    op.drop_table('units')
