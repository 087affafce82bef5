"""The weekly report's kept totals (``day_totals``) after each action that changes what they
count: the rows kept in the transaction are exactly what a recomputation from the rounds,
flags and audit log gives, and the report's figures are the recomputation's."""
from datetime import timedelta

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    CommitteeBranches, DayTotals, Flag, FlagKind, Organisation, OrgType, Round, Stage,
)
from evalsvc.services import bulk_rounds, day_totals, flags, public_pages, rehearsal, report
from evalsvc.services.bulk_rounds import Selection
from evalsvc.services.organisations import OrgData, update_org
from evalsvc.services.today import today
from tests.services.test_bulk import _template
from tests.services.test_rules import org, run_round, user
from tests.services.test_verdict_review import failed_rehearsal

COLUMNS = (*day_totals.COUNTS, "lowest")


def kept() -> dict:
    """The table as kept, keyed like ``day_totals.compute`` (one row a key)."""
    rows = list(db.session.scalars(sa.select(DayTotals)))
    found = {(r.day, r.batch_id, r.parent_id): {c: getattr(r, c) for c in COLUMNS}
             for r in rows}
    assert len(found) == len(rows), "a day kept twice"
    return found


def counts() -> dict:
    """Branches per (parent, batch) as kept, without empty rows."""
    return {(r.parent_id, r.batch_id): r.branches
            for r in db.session.scalars(sa.select(CommitteeBranches)) if r.branches}


def assert_kept() -> dict:
    """The kept rows are the recomputed ones (the day totals and the branch counts);
    returns the day totals."""
    db.session.expire_all()
    fresh = day_totals.compute(db.session.connection())
    assert kept() == fresh
    assert counts() == {(p, b): n for p, b, n in db.session.execute(
        sa.select(Organisation.parent_id, Organisation.batch_id, sa.func.count())
        .where(Organisation.type == OrgType.BRANCH)
        .group_by(Organisation.parent_id, Organisation.batch_id))}
    return fresh


def week(who: str = "office"):
    return report.weekly(user(who), today() - timedelta(days=6), today())


def today_of(code: str) -> dict:
    branch = org(code)
    return kept().get((today(), branch.batch_id, branch.parent_id), {})


def test_closing_a_round_and_deciding_its_verdict_keep_the_day_right(app, demo):
    failing = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW,
                        positive=4, negative=6)
    assert_kept()
    line = today_of("XW0101")
    assert line["rounds_held"] == 1 and line["ballots"] == 10 and line["cards"] == 10
    assert line["make_up"] == 0 and line["changes"] >= 2  # opened, closed; 补课 proposed
    flags.confirm_verdict(user("office"), failing, "属实")
    assert_kept()
    line = today_of("XW0101")
    assert line["make_up"] == 1 and line["yellow_cards"] == 1 and line["flags_confirmed"] >= 1
    assert week().total("flags_confirmed") == line["flags_confirmed"]


def test_a_flag_raised_on_an_earlier_day_and_overridden_today_moves_both_days(app, demo):
    failing = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW,
                        positive=4, negative=6)
    flags.confirm_verdict(user("office"), failing, "属实")
    earlier = today() - timedelta(days=3)
    db.session.execute(sa.update(Flag).values(raised_on=earlier))  # raised days ago
    day_totals.rebuild(db.session.connection())
    db.session.commit()
    branch = org("XW0101")
    assert kept()[(earlier, branch.batch_id, branch.parent_id)]["yellow_cards"] == 1
    card = db.session.scalar(sa.select(Flag).where(Flag.kind == FlagKind.YELLOW_CARD))
    db.session.expire_all()  # the flag's days are not in memory: read from the database
    flags.override(user("office"), card, "补课已完成，不予黄牌")
    fresh = assert_kept()
    assert fresh[(earlier, branch.batch_id, branch.parent_id)]["yellow_cards"] == 0
    assert fresh[(today(), branch.batch_id, branch.parent_id)]["flags_confirmed"] == 1  # 补课


def test_a_purged_rehearsal_counts_as_no_round_held(app, demo):
    practice = failed_rehearsal()
    assert_kept()
    assert today_of("XW0101").get("rounds_held", 0) == 0  # a rehearsal is no round held
    rehearsal.purge(None, practice)
    assert_kept()
    assert week().total("rounds_held") == 0


def test_publishing_and_withdrawing_a_result_are_changes_of_the_day(app, demo):
    held = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW)
    before = assert_kept()[(today(), org("XW0101").batch_id, org("XW0101").parent_id)]
    public_pages.publish(user("office"), held)
    public_pages.withdraw(user("office"), held)
    after = assert_kept()[(today(), org("XW0101").batch_id, org("XW0101").parent_id)]
    assert after["changes"] == before["changes"] + 2


def test_a_branch_moved_to_another_committee_and_batch_takes_its_days_along(app, demo):
    failing = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW,
                        positive=4, negative=6)
    flags.confirm_verdict(user("office"), failing, "属实")
    old = org("XW0101")
    old_key = (today(), old.batch_id, old.parent_id)
    assert kept()[old_key]["rounds_held"] == 1
    target = org("XW0401")  # another committee, another batch
    update_org(user("office"), old, OrgData(old.code, old.name, old.type, old.unit,
                                            target.parent_id, target.batch_id))
    fresh = assert_kept()
    assert old_key not in fresh
    assert fresh[(today(), target.batch_id, target.parent_id)]["rounds_held"] == 1
    assert week().branch_count() == len([o for o in db.session.scalars(
        sa.select(Organisation)) if o.type is OrgType.BRANCH])


def test_a_new_branch_is_counted_in_its_committee_and_batch(app, demo):
    from evalsvc.services.organisations import create_org

    before = week().branch_count()
    committee = org("XW0401")
    create_org(user("office"), OrgData("XW0499", "古宋镇新设党支部", OrgType.BRANCH, "",
                                       committee.parent_id, committee.batch_id))
    assert_kept()
    assert week().branch_count() == before + 1
    assert week("supervisor").branch_count() == 5  # XW01 and XW02's; not XW04's


def test_rounds_closed_in_bulk_and_entries_written_in_bulk_are_kept(app, demo):
    bulk_rounds.create_rounds(None, Selection(under="XW0201"), _template(masses=2))
    bulk_rounds.open_rounds(None, Selection(under="XW0201"))
    assert_kept()  # 开始测评 entries, written by one executemany
    outcome = bulk_rounds.close_rounds(None, Selection(under="XW0201"))
    assert outcome.done
    fresh = assert_kept()
    general = org("XW020101")
    assert fresh[(today(), general.batch_id, general.parent_id)]["rounds_held"] == 2


def test_the_report_sums_what_a_recomputation_gives_in_every_scope(app, demo):
    run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW, positive=4,
              negative=6)
    for code in ("XW020101", "XW030101"):
        run_round(user("office"), code, "stage_review", Stage.STUDY
                  if org(code).batch_id != org("XW0101").batch_id else Stage.REVIEW)
    fresh = assert_kept()
    start = today() - timedelta(days=6)

    def expected(codes=None) -> dict:
        branches = None if codes is None else Organisation.code.in_(codes)
        found = day_totals.compute(db.session.connection(), branches)
        return {c: sum(v[c] for (day, *_), v in found.items() if day >= start)
                for c in ("rounds_held", "ballots", "flags_raised", "changes")}

    office = week("office")
    assert {c: office.total(c) for c in expected()} == expected()
    assert sum(v["rounds_held"] for v in fresh.values()) == office.total("rounds_held") == 3
    # The demo's supervisor: XW01 and XW02 and all below them; not XW03.
    mine = week("supervisor")
    under = [o.code for o in db.session.scalars(sa.select(Organisation))
             if o.code.startswith(("XW01", "XW02"))]
    assert {c: mine.total(c) for c in expected()} == expected(under)
    assert mine.total("rounds_held") == 2


def test_a_branch_assigned_on_its_own_is_summed_from_its_facts(app, demo):
    """A supervisor assigned one branch (not its committee) sees that branch's figures:
    the kept rows are per committee, so hers are computed from the branch's own rows."""
    from evalsvc.models import Role, User

    run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW, positive=4,
              negative=6)
    run_round(user("office"), "XW0102", "stage_review", Stage.REVIEW)
    alone = User(username="one-branch", display_name="第三督导组", password_hash="x",
                 role=Role.SUPERVISOR, active=True, assigned=[org("XW0101")])
    db.session.add(alone)
    db.session.commit()
    hers = week("one-branch")
    assert hers.total("rounds_held") == 1 and hers.total("ballots") == 10
    assert [(s.rounds_held, s.ballots) for s in hers.summaries() if s.branches] == [(1, 10)]
    assert week("office").total("rounds_held") == 2


def test_two_rounds_of_one_committee_closed_at_once_are_both_counted(app, demo, monkeypatch):
    """Each close recomputes its committee's day: the first has computed (without the
    second's round) and not yet written when the second closes. The second waits for the
    first (PostgreSQL: an advisory lock per committee; SQLite: one writer at a time), so
    neither writes a day that misses the other's round."""
    import threading

    from evalsvc.models import Round
    from evalsvc.services import closing
    from tests.helpers import at_once, new_round

    ids = {"first": new_round("XW0101")[0].id, "second": new_round("XW0102")[0].id}

    def close():
        closing.close_round(None, db.session.get(Round, ids[threading.current_thread().name]))

    at_once(app, monkeypatch, day_totals, "_insert", close)
    assert_kept()
    assert today_of("XW0101")["rounds_held"] == 2


def test_rows_loaded_around_the_app_are_counted_after_the_operator_rebuilds(app, demo):
    """A round closed by SQL (a bulk load, a restore) is not seen by the kept totals until
    ``evalsvc report rebuild-totals``; then the report counts it."""
    held = run_round(user("secretary"), "XW0101", "stage_review", Stage.REVIEW)
    with db.engine.begin() as conn:  # around the ORM: nothing notes it
        conn.execute(sa.update(Round).where(Round.id == held.id)
                     .values(closed_on=today() - timedelta(days=1)))
    assert week().total("rounds_held") == 1  # still kept on today
    result = app.test_cli_runner().invoke(args=["report", "rebuild-totals"])
    assert result.exit_code == 0 and "已重新统计" in result.output
    fresh = assert_kept()
    branch = org("XW0101")
    assert fresh[(today() - timedelta(days=1), branch.batch_id, branch.parent_id)][
        "rounds_held"] == 1
    assert today_of("XW0101").get("rounds_held", 0) == 0
