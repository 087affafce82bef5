"""rounds.cards_issued, ballots_counted, figures_json: totals kept for lists and summaries

Cards issued are set when a round is created, ballots counted and the kind's headline
figures when it closes; this fills them in for the rounds that exist (cards for every
round, ballots and figures for closed ones, from their ballots and stored results).

Revision ID: a1f3c5e7b9d2
Revises: c4d7e9a1b2f5
Create Date: 2026-11-30 19:40:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1f3c5e7b9d2'
down_revision = 'c4d7e9a1b2f5'
branch_labels = None
depends_on = None

CHUNK = 1000


def upgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cards_issued', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('ballots_counted', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('figures_json', sa.Text(), nullable=True))
    conn = op.get_bind()
    conn.execute(sa.text(
        "UPDATE rounds SET cards_issued = COALESCE((SELECT SUM(g.card_count)"
        " FROM respondent_groups g WHERE g.round_id = rounds.id), 0)"))
    conn.execute(sa.text(
        "UPDATE rounds SET ballots_counted = (SELECT COUNT(*) FROM ballots b"
        " WHERE b.round_id = rounds.id) WHERE state = 'closed'"))
    _figures(conn)


def _figures(conn) -> None:
    """The kinds' headline figures of the stored results, a chunk of rounds at a time."""
    from evalsvc.kinds import registry
    from evalsvc.services.totals import figures_text
    from evalsvc.tally import RoundResult

    kinds = registry()
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, kind, result_json FROM rounds WHERE state = 'closed'"
            " AND result_json IS NOT NULL AND id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK}).all()
        if not rows:
            return
        conn.execute(sa.text("UPDATE rounds SET figures_json = :f WHERE id = :i"), [
            {"i": id_, "f": figures_text(kind, RoundResult.from_data(json.loads(text)), kinds)}
            for id_, kind, text in rows])
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_column('figures_json')
        batch_op.drop_column('ballots_counted')
        batch_op.drop_column('cards_issued')
