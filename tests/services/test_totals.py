"""A round's totals are kept on its row (cards when it is created, ballots and the kind's
headline figures when it closes), so lists and summaries never recount them."""
import json

from evalsvc.kinds import get_kind
from evalsvc.models import GroupCode, Stage
from evalsvc.services import rehearsal, results, totals
from tests.helpers import closed_satisfaction_round, new_round
from tests.services.test_rules import run_round, user


def test_cards_are_kept_when_a_round_is_created(app, demo):
    round_, _codes = new_round(groups={GroupCode.MEMBER: 7, GroupCode.MASSES: 4})
    assert (round_.cards_issued, round_.ballots_counted, round_.figures_json) == (11, None, None)


def test_ballots_and_figures_are_kept_at_close_as_the_stored_result_says(app, demo):
    round_ = closed_satisfaction_round(ballots_cast=6, cards=9)
    assert (round_.cards_issued, round_.ballots_counted) == (9, 6)
    kind = get_kind(round_.kind)
    assert json.loads(round_.figures_json) == dict(kind.report_cells(results.result_of(round_)))
    assert totals.figures(round_) == {kind.rate_label: 1.0}


def test_a_round_closed_before_the_totals_were_kept_reads_its_stored_result(app, demo):
    round_ = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW,
                       positive=6, negative=4)
    kept = totals.figures(round_)
    round_.figures_json = None
    assert totals.figures(round_) == kept and kept


def test_purging_a_rehearsal_forgets_its_closed_totals(app, demo):
    round_ = closed_satisfaction_round(ballots_cast=3)
    round_.rehearsal = True
    rehearsal.purge(None, round_)
    assert (round_.ballots_counted, round_.figures_json, round_.cards_issued) == (None, None, 3)
