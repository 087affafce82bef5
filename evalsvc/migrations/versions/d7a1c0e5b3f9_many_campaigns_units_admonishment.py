"""many campaigns: flags, stage progress and transitions belong to a campaign; units as
records; a single-stage campaign; batch-window overrides; how 集体诫勉 was carried out

Revision ID: d7a1c0e5b3f9
Revises: e7a1c4d2b8f0
Create Date: 2026-11-30 15:20:00

Existing rows are backfilled to the existing (latest) campaign; free-text units become
records linked from their organisations.

On SQLite, tables other tables reference (campaigns, organisations) are never rebuilt: with
foreign keys on, dropping the old copy would fail, or cascade deletes. Their new column is a
plain ALTER TABLE ADD COLUMN ... REFERENCES, and the unique campaign name a unique index.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7a1c0e5b3f9'
down_revision = 'e7a1c4d2b8f0'
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
    op.add_column('campaigns', sa.Column('single_stage', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.create_index('uq_campaigns_name', 'campaigns', ['name'], unique=True)
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE organisations ADD COLUMN unit_id INTEGER '
                   'CONSTRAINT fk_organisations_unit_id_units REFERENCES units (id)')
    else:
        op.add_column('organisations', sa.Column('unit_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_organisations_unit_id_units', 'organisations', 'units',
                              ['unit_id'], ['id'])
    op.create_index('ix_organisations_unit_id', 'organisations', ['unit_id'])
    op.add_column('rounds', sa.Column('window_override', sa.Text(), nullable=True))
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
    op.drop_column('rounds', 'window_override')
    op.drop_index('ix_organisations_unit_id', 'organisations')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_organisations_unit_id_units', 'organisations', type_='foreignkey')
    op.drop_column('organisations', 'unit_id')  # SQLite drops a REFERENCES column since 3.35
    op.drop_index('uq_campaigns_name', 'campaigns')
    op.drop_column('campaigns', 'single_stage')
    op.drop_table('units')
