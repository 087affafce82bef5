"""A round's totals kept on its row for lists and summaries (the dashboard, the rounds
list, the weekly report): the ballots counted and the kind's headline figures, written once
at close; the cards issued are written when the round is created. No list recounts ballots
or re-reads stored results per row."""
import json

from evalsvc.kinds import registry
from evalsvc.models import Round, RoundState
from evalsvc.services.rounds import ballot_count
from evalsvc.tally import RoundResult


def keep(round_: Round, result: RoundResult) -> None:
    """Store the closing round's totals (inside the closing transaction)."""
    round_.ballots_counted = ballot_count(round_.id)
    round_.figures_json = figures_text(round_.kind, result)


def figures_text(kind_name: str, result: RoundResult, kinds=None) -> str:
    """The kind's headline figures of a result as JSON (label → proportion), in the kind's
    order; ``{}`` for a kind no longer registered."""
    kind = (kinds if kinds is not None else registry()).get(kind_name)
    if kind is None:
        return "{}"
    return json.dumps(dict(kind.report_cells(result)), ensure_ascii=False)


def figures(round_: Round) -> dict[str, float]:
    """What a closed round's kind reports on the dashboard and in the weekly report, as
    kept at close (a closed round without them is read from its stored
    result: the migration that added the totals fills them in, so this is a safety net)."""
    if round_.state is not RoundState.CLOSED:
        return {}
    text = round_.figures_json
    if text is None:
        if round_.result_json is None:
            return {}
        text = figures_text(round_.kind, RoundResult.from_data(json.loads(round_.result_json)))
    return json.loads(text)
