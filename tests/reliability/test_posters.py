"""A hall scanning one poster at once: every ballot within the cap is stored, none beyond,
and nobody gets an error (a share lock before the cap update used to deadlock on
PostgreSQL)."""
import secrets
import threading

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Ballot, Round
from evalsvc.services import ballots
from tests.helpers import new_round

ROWS = [("comment", "", "扫码参与")]


def test_concurrent_poster_ballots_respect_the_cap_without_errors(app, demo):
    round_, _ = new_round(kind="opinion", groups={}, poster=True, poster_cap=12)
    round_id = round_.id
    db.session.commit()
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def scan():
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                ballots.cast_poster_ballot(round_id, secrets.token_urlsafe(16), ROWS)
                outcomes.append("stored")
            except ballots.Refused as refused:
                outcomes.append(refused.reason)
            except Exception as exc:  # noqa: BLE001 - any other failure is the bug
                outcomes.append(f"error: {exc!r}")

    threads = [threading.Thread(target=scan) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["full"] * 4 + ["stored"] * 12, outcomes
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 12
    assert db.session.get(Round, round_id).poster_used == 12
