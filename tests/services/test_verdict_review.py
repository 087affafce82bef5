"""The verdict kept once, on the round: what a rehearsal's verdict may and may not do, and
that the exported overview shows a 补课 the way the dashboard does."""
import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Flag, FlagKind, GroupCode, Round, Stage
from evalsvc.render.overview import overview_rows
from evalsvc.services import closing, dashboard, flags, rehearsal, rounds
from evalsvc.services.errors import Invalid
from tests.helpers import new_round
from tests.services.test_rules import run_round, user, vote


def failed_rehearsal():
    """A rehearsal round closed with ballots far below the threshold: the rules propose 补课."""
    round_, codes = new_round(groups={GroupCode.MASSES: 10}, rehearsal=True)
    vote(round_, codes, 2, 8)
    closing.close_round(None, round_)
    assert round_.passed is False
    return round_


def follow_ups() -> list[Flag]:
    return list(db.session.scalars(sa.select(Flag).where(
        Flag.kind.in_([FlagKind.MAKE_UP, FlagKind.YELLOW_CARD]))))


@pytest.mark.parametrize("decide", ["confirm", "override"])
def test_a_rehearsals_verdict_is_practice_and_opens_no_make_up_or_yellow_card(app, demo,
                                                                               decide):
    """A rehearsal raises no flags when it closes; deciding its verdict must not either: the
    branch would carry a 补课 and a yellow card from practice ballots, even after the purge."""
    practice = failed_rehearsal()
    office = user("office")
    assert practice not in flags.pending_verdicts(None)
    with pytest.raises(Invalid):
        if decide == "confirm":
            flags.confirm_verdict(office, practice, "演练")
        else:
            flags.override_verdict(office, practice, "演练", passed=False)
    assert follow_ups() == []
    rehearsal.purge(None, practice)
    assert follow_ups() == []
    assert next(r for r in dashboard.overview(user("office")) if r.org.code == "XW0101").cells[Stage.REVIEW].make_up is None


def test_a_practice_left_unpurged_does_not_hold_back_the_live_round(app, demo):
    """Practice ballots that would fail are no 补课: a live round of the same kind opens."""
    failed_rehearsal()
    live, _codes = new_round(open_it=False)
    rounds.open_round(None, live)
    assert live.opened_on is not None


def test_the_exported_overview_tells_a_pending_make_up_from_a_decided_one(app, demo):
    """The dashboard shows 补课（待确认） until the office decides and 需补课 after; the
    spreadsheet and CSV overview say the same."""
    failing = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW,
                        positive=4, negative=6)
    assert failing.passed is False
    row = next(r for r in dashboard.overview(user("office")) if r.org.code == "XW0101")
    assert "补课（待确认）" in next(overview_rows([row]))
    flags.confirm_verdict(user("office"), db.session.get(Round, failing.id), "同意补课")
    row = next(r for r in dashboard.overview(user("office")) if r.org.code == "XW0101")
    cells = next(overview_rows([row]))
    assert "需补课" in cells and "补课（待确认）" not in cells



def test_two_office_users_deciding_one_verdict_at_once_decide_it_once(app, demo,
                                                                      monkeypatch):
    """Two office users press 确认 on the same proposal together: one decision counts, the
    other is told it is already decided (no second audit entry, no second 补课)."""
    from evalsvc.models import AuditEntry
    from evalsvc.services import audit
    from tests.helpers import at_once, closed_satisfaction_round

    round_id = closed_satisfaction_round(6).id
    outcomes = []

    def decide():
        try:
            flags.confirm_verdict(user("office"), db.session.get(Round, round_id))
            outcomes.append("decided")
        except Invalid:
            outcomes.append("refused")

    at_once(app, monkeypatch, audit, "record", decide,
            pause_when=lambda actor, action, *a, **k: action == "round.verdict.confirm")
    assert sorted(outcomes) == ["decided", "refused"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "round.verdict.confirm",
        AuditEntry.object_id == str(round_id))) == 1


def test_a_pass_with_no_decision_at_all_keeps_the_gate_shut(app, demo):
    """The gate opens on a decided pass only: a closed round whose verdict status is empty
    (written by hand, or by a path that forgot it) is not decided."""
    from evalsvc.models import Organisation
    from evalsvc.services import stages
    from tests.supervision.insider import sql

    secretary = user("secretary")
    branch = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW0101"))
    run_round(secretary, "XW0101", "member_review", Stage.REVIEW, positive=6, negative=0)
    stage = run_round(secretary, "XW0101", "stage_review", Stage.REVIEW)
    assert stages.missing_for(branch, Stage.REVIEW) == []
    sql("UPDATE rounds SET verdict_status = NULL WHERE id = :id", id=stage.id)
    assert "转段测评（第1次）的判定待先教办确认" in stages.missing_for(branch, Stage.REVIEW)


def test_a_make_up_flag_is_never_decided_as_a_flag(app, demo):
    """补课 is decided on the round; a MAKE_UP flag left undecided (an old database, a row
    written by hand) cannot be confirmed or overridden as a flag, which would decide 补课 a
    second way behind the round's back."""
    from tests.supervision.insider import sql

    round_ = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW,
                       positive=4, negative=6)
    sql("INSERT INTO flags (kind, status, organisation_id, campaign_id, stage, round_id, unit,"
        " summary, raised_on, reason) SELECT 'make_up', 'proposed', organisation_id,"
        " campaign_id, stage, id, '', '', closed_on, '' FROM rounds WHERE id = :id",
        id=round_.id)
    flag = db.session.scalar(sa.select(Flag).where(Flag.kind == FlagKind.MAKE_UP))
    with pytest.raises(Invalid):
        flags.confirm(user("office"), flag)
    with pytest.raises(Invalid):
        flags.override(user("office"), flag, "复核后不需补课")
    db.session.refresh(flag)
    assert flag.status.value == "proposed"
