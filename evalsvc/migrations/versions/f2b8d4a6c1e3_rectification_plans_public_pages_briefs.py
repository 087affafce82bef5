"""整改提高: rectification plans and items with progress notes, public pages, weekly
briefs; rounds carry extra (plan) items and whether their result is published

Revision ID: f2b8d4a6c1e3
Revises: f3a8b1c6d2e4
Create Date: 2026-11-30 17:20:00

rounds is referenced by other tables, so on SQLite it is never rebuilt: its new columns are
plain ALTER TABLE ADD COLUMN.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2b8d4a6c1e3'
down_revision = 'f3a8b1c6d2e4'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=12)


def upgrade():
    op.create_table(
        'rectification_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('state', _enum('planstate', 'draft', 'submitted', 'returned', 'approved'),
                  nullable=False),
        sa.Column('drafted_by', sa.String(length=60), nullable=False),
        sa.Column('drafted_on', sa.Date(), nullable=False),
        sa.Column('submitted_on', sa.Date(), nullable=True),
        sa.Column('review_opinion', sa.Text(), nullable=False),
        sa.Column('reviewed_by', sa.String(length=60), nullable=True),
        sa.Column('reviewed_on', sa.Date(), nullable=True),
        sa.Column('decided_by', sa.String(length=60), nullable=True),
        sa.Column('decided_on', sa.Date(), nullable=True),
        sa.Column('return_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_rectification_plans_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_rectification_plans_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_plans')),
        sa.UniqueConstraint('campaign_id', 'organisation_id',
                            name=op.f('uq_rectification_plans_campaign_id')),
    )
    op.create_index(op.f('ix_rectification_plans_campaign_id'), 'rectification_plans',
                    ['campaign_id'])
    op.create_index(op.f('ix_rectification_plans_organisation_id'), 'rectification_plans',
                    ['organisation_id'])
    op.create_table(
        'plan_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('problem', sa.Text(), nullable=False),
        sa.Column('measures', sa.Text(), nullable=False),
        sa.Column('responsible', sa.String(length=60), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('status', _enum('itemstatus', 'not_started', 'in_progress', 'done'),
                  nullable=False),
        sa.Column('source_round_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_plan_items_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['plan_id'], ['rectification_plans.id'], ondelete='CASCADE',
                                name=op.f('fk_plan_items_plan_id_rectification_plans')),
        sa.ForeignKeyConstraint(['source_round_id'], ['rounds.id'], ondelete='SET NULL',
                                name=op.f('fk_plan_items_source_round_id_rounds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_items')),
    )
    op.create_index(op.f('ix_plan_items_organisation_id'), 'plan_items', ['organisation_id'])
    op.create_index(op.f('ix_plan_items_plan_id'), 'plan_items', ['plan_id'])
    op.create_table(
        'progress_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('noted_on', sa.Date(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['plan_items.id'], ondelete='CASCADE',
                                name=op.f('fk_progress_notes_item_id_plan_items')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_progress_notes_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_notes')),
    )
    op.create_index(op.f('ix_progress_notes_item_id'), 'progress_notes', ['item_id'])
    op.create_table(
        'public_pages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('created_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_public_pages_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_public_pages_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_pages')),
        sa.UniqueConstraint('campaign_id', 'organisation_id',
                            name=op.f('uq_public_pages_campaign_id')),
        sa.UniqueConstraint('token', name=op.f('uq_public_pages_token')),
    )
    op.create_index(op.f('ix_public_pages_campaign_id'), 'public_pages', ['campaign_id'])
    op.create_index(op.f('ix_public_pages_organisation_id'), 'public_pages',
                    ['organisation_id'])
    op.create_table(
        'briefs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('submitted_by', sa.String(length=60), nullable=False),
        sa.Column('submitter_role', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('brief_date', sa.Date(), nullable=False),
        sa.Column('author', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_briefs_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_briefs')),
    )
    op.create_index(op.f('ix_briefs_brief_date'), 'briefs', ['brief_date'])
    op.create_index(op.f('ix_briefs_organisation_id'), 'briefs', ['organisation_id'])
    op.create_index(op.f('ix_briefs_submitted_by'), 'briefs', ['submitted_by'])
    op.add_column('rounds', sa.Column('extra_items_json', sa.Text(), nullable=True))
    op.add_column('rounds', sa.Column('result_published', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    # ALTER TABLE DROP COLUMN (SQLite 3.35+): rounds is never rebuilt, see above.
    op.drop_column('rounds', 'result_published')
    op.drop_column('rounds', 'extra_items_json')
    for table in ('briefs', 'public_pages', 'progress_notes', 'plan_items',
                  'rectification_plans'):
        op.drop_table(table)
