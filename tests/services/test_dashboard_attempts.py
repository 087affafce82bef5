"""The dashboard reads a stage from its latest attempt, and a draft shows no participation."""
from datetime import date

from evalsvc.models import FlagKind, Stage
from evalsvc.services import dashboard, flags
from tests.services.test_rules import create, only_flag, run_round, user


def _cell(code: str, stage: Stage):
    row = next(r for r in dashboard.overview(user("office")) if r.org.code == code)
    return row.cells[stage]


def test_a_stage_shows_its_latest_attempt_only(app, demo):
    office, secretary = user("office"), user("secretary")
    first = run_round(secretary, "XW0101", "stage_review", Stage.REVIEW, positive=2,
                      negative=8)
    flags.confirm_verdict(office, first)
    make_up = only_flag(FlagKind.MAKE_UP, round_id=first.id)
    flags.record_make_up(secretary, make_up, "补课学习", date(2026, 11, 1))
    run_round(secretary, "XW0101", "stage_review", Stage.REVIEW, positive=6, negative=0)
    cell = _cell("XW0101", Stage.REVIEW)
    assert (cell.cards, cell.ballots) == (6, 6)
    assert cell.figures["满意率"] == 1.0  # not the first attempt's 20 %


def test_a_draft_round_shows_no_participation(app, demo):
    create(user("secretary"), "XW0101", "stage_review", Stage.REVIEW, cards=10)
    cell = _cell("XW0101", Stage.REVIEW)
    assert cell.rounds == 1 and cell.participation is None
