"""ballots: each ballot's answers packed into ballots.answers; the answers table goes

Closing a round rewrote each of its answer rows (30 per ballot) to lose their write order;
a ballot is now one row. ``ballots.answers`` holds the canonical JSON of the ballot's
answers, [[question, value, text], ...] sorted by question and value (code-point order),
text null for a choice: the list the seal hashes per ballot, so every seal still
verifies. The packing is written out here, not imported, so this migration keeps doing
what it did whatever the code does later.

Both directions go batch by batch in ballot-id order (keyset, never the whole table in
memory), on SQLite and PostgreSQL alike.

Revision ID: 4acf10c853d6
Revises: d5f7a9c1e3b6
Create Date: 2026-11-30 22:40:00

"""
import json
from itertools import groupby

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4acf10c853d6'
down_revision = 'd5f7a9c1e3b6'
branch_labels = None
depends_on = None

BATCH = 2000  # ballots per step


def _pack(answers) -> str:
    """[[question, value, text], ...] sorted, as canonical JSON (services.packed.pack)."""
    rows = sorted(([q, v, t or None] for q, v, t in answers), key=lambda a: (a[0], a[1]))
    return json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _ballot_batches(conn, columns: str):
    """The ballots, BATCH at a time, in id order (keyset: each step starts after the last)."""
    last = ""
    while True:
        batch = conn.execute(sa.text(
            f"SELECT {columns} FROM ballots WHERE id > :last ORDER BY id LIMIT {BATCH}"),
            {"last": last}).all()
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def upgrade():
    op.add_column('ballots', sa.Column('answers', sa.Text(), nullable=False,
                                       server_default='[]'))
    conn = op.get_bind()
    for batch in _ballot_batches(conn, "id"):
        rows = conn.execute(sa.text(
            "SELECT ballot_id, question, value, text FROM answers"
            " WHERE ballot_id >= :first AND ballot_id <= :last ORDER BY ballot_id"),
            {"first": batch[0][0], "last": batch[-1][0]}).all()
        packed = [{"id": ballot_id, "answers": _pack((q, v, t) for _b, q, v, t in answers)}
                  for ballot_id, answers in groupby(rows, key=lambda row: row[0])]
        if packed:
            conn.execute(sa.text("UPDATE ballots SET answers = :answers WHERE id = :id"),
                         packed)
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_tally')
    op.drop_table('answers')
    # Ballot rows are wide now: the channel breakdown a closed round's page shows reads
    # the index alone (SQLite), not 100,000 rows of answers.
    op.drop_index('ix_ballots_round_group', table_name='ballots')
    op.create_index('ix_ballots_round_group', 'ballots', ['round_id', 'group_id', 'channel'])


def downgrade():
    op.drop_index('ix_ballots_round_group', table_name='ballots')
    op.create_index('ix_ballots_round_group', 'ballots', ['round_id', 'group_id'])
    op.create_table(
        'answers',
        sa.Column('ballot_id', sa.String(length=32), nullable=False),
        sa.Column('question', sa.String(length=48), nullable=False),
        sa.Column('value', sa.String(length=40), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'],
                                name=op.f('fk_answers_ballot_id_ballots'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ballot_id', 'question', 'value', name=op.f('pk_answers')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_answers_tally', 'answers', ['round_id', 'question', 'value', 'group_id'],
                    unique=False)
    conn = op.get_bind()
    insert = sa.text("INSERT INTO answers (ballot_id, question, value, round_id, group_id, text)"
                     " VALUES (:b, :q, :v, :r, :g, :t)")
    for batch in _ballot_batches(conn, "id, round_id, group_id, answers"):
        rows = [{"b": ballot_id, "q": q, "v": v, "r": round_id, "g": group_id, "t": t}
                for ballot_id, round_id, group_id, packed in batch
                for q, v, t in json.loads(packed)]
        if rows:
            conn.execute(insert, rows)
    op.drop_column('ballots', 'answers')
