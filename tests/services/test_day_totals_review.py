"""Review of the weekly report's kept totals: actions after which the page's figures could
differ from a recomputation from the facts (the rounds, flags and audit log, in the user's
scope as ``scope.visible_org_ids`` gives it)."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, Organisation, OrgType, Round, Stage
from evalsvc.services import report
from evalsvc.services.day_totals import CHANGE_ACTIONS
from evalsvc.services.errors import Invalid
from evalsvc.services.organisations import OrgData, update_org
from evalsvc.services.scope import visible_org_ids
from evalsvc.services.today import today, utc_start
from tests.services.test_rules import org, run_round, user


def truth(who: str, start, end) -> dict:
    """What the report must say, counted from the facts in the user's scope."""
    seen = visible_org_ids(user(who))
    branches = [o.id for o in db.session.scalars(sa.select(Organisation).where(
        Organisation.type == OrgType.BRANCH)) if seen is None or o.id in seen]
    return {
        "branches": len(branches),
        "rounds_held": db.session.scalar(sa.select(sa.func.count()).select_from(Round).where(
            Round.organisation_id.in_(branches), Round.rehearsal.is_(False),
            Round.closed_on >= start, Round.closed_on <= end)),
        "changes": db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.organisation_id.in_(branches), AuditEntry.action.in_(CHANGE_ACTIONS),
            AuditEntry.at >= utc_start(start), AuditEntry.at < utc_start(end + timedelta(days=1)))),
    }


def shown(who: str, start, end) -> dict:
    page = report.weekly(user(who), start, end)
    return {"branches": page.branch_count(), "rounds_held": page.total("rounds_held"),
            "changes": page.total("changes")}


def test_a_general_branch_retyped_as_a_branch_cannot_hide_its_branches(app, demo):
    """党总支 XW0201 (no members) retyped 党支部 while its two branches stay below it: the
    supervisor's page walked 党委/总支 only and lost them (4 branches shown, 6 in scope).
    A branch under a branch is no valid tree: the edit is refused."""
    run_round(user("office"), "XW020101", "stage_review", Stage.REVIEW)
    general = org("XW0201")
    with pytest.raises(Invalid) as refused:
        update_org(user("office"), general, OrgData(general.code, general.name,
                                                    OrgType.BRANCH, general.unit,
                                                    general.parent_id, general.batch_id))
    assert "type" in refused.value.errors
    db.session.rollback()
    start = today() - timedelta(days=6)
    assert shown("supervisor", start, today()) == truth("supervisor", start, today())


def test_a_timezone_change_keeps_the_changes_of_the_period_right(app, demo):
    """An entry an hour before the period starts (Beijing time) is inside it in Tokyo time."""
    start = today() - timedelta(days=6)
    branch = org("XW0101")
    db.session.add(AuditEntry(at=utc_start(start) - timedelta(hours=1), actor="office",
                              role="office", action="plan.note", object_type="plan",
                              object_id=1, organisation_id=branch.id, detail="{}"))
    db.session.commit()
    assert shown("office", start, today()) == truth("office", start, today())
    app.config["TIMEZONE"] = "Asia/Tokyo"
    assert shown("office", start, today()) == truth("office", start, today())
    assert shown("supervisor", start, today()) == truth("supervisor", start, today())
    # Counted again in the new zone, the kept days serve the page once more.
    from evalsvc.services import day_totals
    day_totals.rebuild_kept()
    assert not day_totals._counted_in_another_zone(start, today())
    assert shown("office", start, today()) == truth("office", start, today())


def test_a_rebuild_while_a_round_closes_keeps_each_day_once(app, demo, monkeypatch):
    """``evalsvc report rebuild-totals`` while a secretary closes a round of the same
    committee: the rebuild has deleted every row and computed (without the new round) when
    the close recomputes its committee's day. Each day must still be kept once, with both
    rounds (PostgreSQL: the close waited on the rebuild's deleted row, then inserted beside
    the rebuild's row: a day kept twice, 3 rounds held where 2 were)."""
    import threading

    from evalsvc.services import closing, day_totals
    from tests.helpers import at_once, new_round
    from tests.services.test_day_totals import assert_kept

    run_round(user("office"), "XW0101", "stage_review", Stage.REVIEW)
    second = new_round("XW0102")[0].id

    def work():
        if threading.current_thread().name == "first":
            day_totals.rebuild_kept()
        else:
            closing.close_round(None, db.session.get(Round, second))

    at_once(app, monkeypatch, day_totals, "_insert", work)
    assert_kept()
    start = today() - timedelta(days=6)
    assert shown("office", start, today())["rounds_held"] == 2


def test_a_branch_moved_while_its_round_closes_keeps_the_round(app, demo, monkeypatch):
    """The office moves XW0102 to 古宋镇党委 while its secretary closes a round: the close
    had read the branch's old committee before the move committed, then recomputed that
    committee (the branch no longer in it); the move had recomputed without the round
    (not yet committed). PostgreSQL: the round was kept nowhere (0 rounds held shown)."""
    import threading

    from evalsvc.services import closing, day_totals
    from tests.helpers import at_once, new_round
    from tests.services.test_day_totals import assert_kept

    closing_id = new_round("XW0102")[0].id
    target = org("XW0401").parent_id

    def work():
        if threading.current_thread().name == "first":
            closing.close_round(None, db.session.get(Round, closing_id))
        else:
            moved = org("XW0102")
            update_org(user("office"), moved, OrgData(moved.code, moved.name, moved.type,
                                                      moved.unit, target, moved.batch_id))

    at_once(app, monkeypatch, day_totals, "refresh", work)
    assert org("XW0102").parent_id == target
    assert_kept()
    start = today() - timedelta(days=6)
    assert shown("office", start, today())["rounds_held"] == 1


def test_casting_ballots_writes_nothing_to_the_kept_totals(app, demo):
    """Anonymity: a ballot's transaction never writes the kept totals, so no row of
    day_totals or committee_branches is stamped (PostgreSQL xmin) by a ballot's
    transaction or changes while a round is open; they change when the round closes."""
    from evalsvc.models import CommitteeBranches, DayTotals
    from evalsvc.services import closing, rounds
    from tests.services.test_rules import create, vote

    run_round(user("office"), "XW0102", "stage_review", Stage.REVIEW)  # rows to watch
    round_, card_codes = create(user("secretary"), "XW0101", "stage_review", Stage.REVIEW)
    rounds.open_round(user("secretary"), round_)

    def tables() -> list:
        pg = db.engine.dialect.name == "postgresql"
        return [db.session.execute(sa.text(
            f"SELECT {'xmin::text, ' if pg else ''}* FROM {table.__tablename__} ORDER BY id"))
            .all() for table in (DayTotals, CommitteeBranches)]

    before = tables()
    vote(round_, card_codes, 6, 4)
    db.session.commit()
    assert tables() == before
    if db.engine.dialect.name == "postgresql":
        ballot_xmins = set(db.session.scalars(sa.text(
            "SELECT xmin::text FROM ballots WHERE round_id = :r"), {"r": round_.id}))
        assert len(ballot_xmins) == 10
        kept = {row[0] for table in tables() for row in table}
        assert not kept & ballot_xmins
    closing.close_round(user("secretary"), db.session.get(Round, round_.id))
    assert tables() != before  # the close is what moves them
