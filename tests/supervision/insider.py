"""Acting as an insider with write access to the tables: plain SQL, outside the services."""
import json

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Round
from evalsvc.services import results, seal
from tests.helpers import rewrite_answers


def sql(statement: str, **params):
    """Run one statement in its own transaction, outside the app's services."""
    db.session.commit()  # end the test's read snapshot first
    with db.engine.begin() as conn:
        found = conn.execute(sa.text(statement), params)
        rows = found.all() if found.returns_rows else None
    db.session.expire_all()
    return rows


def column(round_id: int, name: str):
    return sql(f"SELECT {name} FROM rounds WHERE id = :id", id=round_id)[0][0]


def reseal_as_insider(round_id: int) -> None:
    """Recompute the stored result and the digest with the project's own code, and write
    both into the round's row."""
    round_ = db.session.get(Round, round_id)
    document = json.dumps(results.compute(round_).to_data(), ensure_ascii=False)
    sql("UPDATE rounds SET result_json = :j WHERE id = :id", j=document, id=round_id)
    digest = seal.digest_of(db.session.get(Round, round_id))[0]
    sql("UPDATE rounds SET digest = :d WHERE id = :id", d=digest, id=round_id)


def set_answer(round_id: int, question: str, value: str, ballot_id: str | None = None) -> None:
    """Change the answer to ``question`` to ``value`` in the round's stored ballots (or in
    one of them), with plain SQL on the packed answers, kept canonical."""
    def change(answers):
        return [[q, value if q == question else v, t] for q, v, t in answers]

    db.session.commit()
    with db.engine.begin() as conn:
        ids = [ballot_id] if ballot_id else conn.execute(sa.text(
            "SELECT id FROM ballots WHERE round_id = :r"), {"r": round_id}).scalars().all()
        for one in ids:
            rewrite_answers(conn, one, change)
    db.session.expire_all()
