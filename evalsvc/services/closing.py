"""Closing a round: wait for in-flight ballots, rewrite them in random order, store the
tally and the proposed verdict, and raise the flags the rules call for: in one commit."""
import sqlalchemy as sa

from evalsvc.database import in_unit_of_work, writes
from evalsvc.extensions import db
from evalsvc.models import Round, RoundState, User
from evalsvc.services import audit, flags, paper, results, seal, totals, traces
from evalsvc.services.campaigns import require_current
from evalsvc.services.errors import Invalid
from evalsvc.services.rounds import ballot_count, require_manage
from evalsvc.services.shuffle import reshuffle_round
from evalsvc.services.today import today


def close_round(actor: User | None, round_: Round, scrub: bool = True) -> Round:
    """open → closed, after every ballot already being written has landed; then the old
    row copies the rewrite left behind are dropped (outside the closing transaction). If a
    reader holds that up, the round shows it as pending and a background thread retries.
    ``scrub`` False leaves that to the caller (a bulk close clears once for all its rounds,
    not one rewrite of the tables per round)."""
    round_id = round_.id  # read before the commit expires it
    _close_and_seal(actor, round_)
    if scrub and not in_unit_of_work():
        traces.after_close(round_id)
    return round_


@writes
def _close_and_seal(actor: User | None, round_: Round) -> None:
    require_manage(actor, round_)
    require_current(round_.campaign_id)
    # Wait for in-flight ballots (they hold a share lock on the round row on PostgreSQL).
    db.session.execute(sa.select(Round.id).where(Round.id == round_.id).with_for_update())
    db.session.refresh(round_)
    if round_.state is not RoundState.OPEN:
        raise Invalid({"state": "只有进行中的测评可以结束"})
    round_.state, round_.closed_on = RoundState.CLOSED, today()
    round_.traces_pending = True  # until the old copies are gone from the files
    paper.discard_pending(db.session.connection(), round_.id)  # never agreed: never counted
    reshuffle_round(db.session.connection(), round_.id)
    results.freeze_settings(round_)
    sealing = seal.Sealing(round_)  # one pass over the ballots: sealed, and counted
    result = results.store(round_, sealing.each_ballot())
    totals.keep(round_, result)
    seal.seal(round_, sealing)
    if not round_.rehearsal:
        flags.raise_for_round(round_, result)
    audit.record(actor, "round.close", round_, ballots=ballot_count(round_.id),
                 verdict=result.verdict.get("summary"), digest=round_.digest,
                 seal=seal.VERSION)
