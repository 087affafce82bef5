"""信息简报: who may send one for whom, the week that ends on Thursday, who is overdue,
and the weekly report's 整改提高 sections."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Brief
from evalsvc.services import briefs, report
from evalsvc.services.errors import Invalid
from evalsvc.services.today import today
from tests.helpers import org_id
from tests.services.test_plans import approved_plan, user


def data(**extra) -> briefs.BriefData:
    values = {"title": "县委办支部开展整改", "text": "本周召开专题会议。", "brief_date": today(),
              "author": "李干事", **extra}
    return briefs.BriefData(**values)


def test_the_week_runs_to_thursday(app):
    thursday = date(2026, 11, 26)
    assert briefs.week_of(thursday) == (date(2026, 11, 20), thursday)
    assert briefs.week_of(date(2026, 11, 27)) == (date(2026, 11, 27), date(2026, 12, 3))
    app.config["BRIEF_WEEK_ENDS"] = 4  # Friday
    assert briefs.week_of(thursday) == (date(2026, 11, 21), date(2026, 11, 27))


def test_overdue_departments_and_supervisors_are_listed_until_they_send(demo):
    names = {m.name for m in briefs.missing()}
    assert {"县委办公室党支部", "第一督导组"} <= names
    briefs.submit(user("secretary"), data())
    briefs.submit(user("supervisor"), data(title="第一督导组周报"))
    names = {m.name for m in briefs.missing()}
    assert "县委办公室党支部" not in names and "第一督导组" not in names
    brief = db.session.scalar(sa.select(Brief).where(Brief.submitted_by == "secretary"))
    assert brief.organisation_id == org_id("XW0101")


@pytest.mark.parametrize("who, extra, field, message", [
    ("secretary", {"organisation_id": "XW0102"}, "organisation_id", "只能以本支部名义报送"),
    ("supervisor", {"organisation_id": "XW0101"}, "organisation_id", "督导组以督导组名义"),
    ("secretary", {"title": " "}, "title", "请填写标题"),
    ("secretary", {"brief_date": None}, "brief_date", "请填写简报日期"),
    ("secretary", {"brief_date": "last week"}, "brief_date", "不能早于本周"),
])
def test_a_brief_out_of_scope_incomplete_or_backdated_is_refused(demo, who, extra, field, message):
    if "organisation_id" in extra:
        extra["organisation_id"] = org_id(extra["organisation_id"])
    if extra.get("brief_date") == "last week":  # backdated into a week already counted
        extra["brief_date"] = briefs.week_of(today())[0] - timedelta(days=1)
    with pytest.raises(Invalid) as refused:
        briefs.submit(user(who), data(**extra))
    assert message in refused.value.errors[field]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Brief)) == 0


def test_the_weekly_report_lists_briefs_overdue_senders_and_overdue_items(demo):
    briefs.submit(user("secretary"), data())
    plan = approved_plan("XW0102", problems=("学习不经常",))
    plan.items[0].deadline = today() - timedelta(days=1)
    db.session.commit()
    weekly = report.weekly(user("office"), today() - timedelta(days=6), today())
    assert [b.title for b in weekly.briefs] == ["县委办支部开展整改"]
    assert "第一督导组" in {m.name for m in weekly.missing_briefs}
    assert [i.problem for i in weekly.overdue_items] == ["学习不经常"]
    scoped = report.weekly(user("supervisor"),
                           today() - timedelta(days=6), today())
    assert [i.problem for i in scoped.overdue_items] == ["学习不经常"]  # XW0102 is under XW01


def test_the_office_names_the_department_it_sends_for(demo):
    with pytest.raises(Invalid, match="请选择报送简报的"):
        briefs.submit(user("office"), data())
    brief = briefs.submit(user("office"), data(organisation_id=org_id("XW01")))
    assert brief.organisation.name and brief.submitter_role == "office"


def test_the_weekly_report_shows_a_supervisor_only_the_briefs_she_may_read(demo):
    from evalsvc.models import Role, User

    other = User(username="supervisor2", display_name="第二督导组", password_hash="x",
                 role=Role.SUPERVISOR, active=True)
    db.session.add(other)
    db.session.commit()
    briefs.submit(other, data(title="第二督导组本周督导情况"))
    briefs.submit(user("supervisor"), data(title="第一督导组本周督导情况"))
    briefs.submit(user("secretary"), data())
    start, end = today() - timedelta(days=6), today()
    for reader in ("supervisor", "office"):
        page = {b.title for b in briefs.visible_briefs(user(reader), start, end)}
        weekly = {b.title for b in report.weekly(user(reader), start, end).briefs}
        assert weekly == page, reader
    mine = {b.title for b in report.weekly(user("supervisor"), start, end).briefs}
    assert mine == {"第一督导组本周督导情况", "县委办支部开展整改"}


def test_a_committee_without_an_account_is_listed_until_the_office_sends_for_it(demo):
    assert ("县直机关党委", "党委") in {(m.name, m.kind) for m in briefs.missing()}
    briefs.submit(user("office"), data(organisation_id=org_id("XW01")))
    assert "县直机关党委" not in {m.name for m in briefs.missing()}
