"""The live view of open rounds: order, filters, scope, participation only, planned close
dates set one by one or in bulk, paging, and the page refreshing itself."""
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, GroupCode, Organisation, Round
from evalsvc.services import closing
from evalsvc.services.today import today
from evalsvc.web.headers import CSP
from tests.helpers import login
from tests.helpers import ballot_for, new_round, org_id

MASSES = {GroupCode.MASSES: 5}


def _round(org: str, title: str, planned_in_days: int | None = None, groups=None,
           kind: str = "satisfaction") -> Round:
    """An open round; a planned close date this many days from today (negative: overdue,
    written directly, as if the date had simply passed)."""
    stage = db.session.get(Organisation, org_id(org)).current_stage  # the gate lets it open
    round_, _cards = new_round(org, kind=kind, stage=stage, groups=groups or MASSES,
                               title=title)
    if planned_in_days is not None:
        db.session.execute(sa.update(Round).where(Round.id == round_.id).values(
            planned_close_on=today() + timedelta(days=planned_in_days)))
        db.session.commit()
    return round_


def _titles(html: str) -> list[str]:
    """Round titles in the order the live table lists them."""
    return re.findall(r'<a href="/rounds/\d+">([^<]+)</a>', html)


def _planned(*rounds: Round) -> list:
    db.session.expire_all()
    return [db.session.get(Round, r.id).planned_close_on for r in rounds]


def _audit(action: str = "round.plan_close") -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


@pytest.fixture
def county(demo):
    """Open rounds across batches and committees, some overdue, plus a closed one."""
    made = {
        "none": _round("XW0101", "甲·未定日期"),
        "soon": _round("XW0102", "乙·五天后", 5),
        "late1": _round("XW020101", "丙·昨天到期", -1),
        "late10": _round("XW030101", "丁·十天前到期", -10),
        "today": _round("XW0103", "戊·今天到期", 0),
    }
    closed = _round("XW0401", "己·已结束", -3)
    closing.close_round(None, closed)
    return made


def test_overdue_rounds_come_first_then_by_date_then_undated(client, county):
    login(client, "office")
    response = client.get("/live")
    html = response.get_data(as_text=True)
    assert _titles(html) == ["丁·十天前到期", "丙·昨天到期", "戊·今天到期", "乙·五天后",
                             "甲·未定日期"]
    assert "己·已结束" not in html  # closed rounds are not live
    assert "逾期 10 天" in html and "逾期 1 天" in html and "今天结束" in html
    assert re.search(r"共 <strong>5</strong> 项进行中的测评.*逾期 2 项", html)
    assert "未设置" in html


def test_page_refreshes_itself_without_script_under_the_same_csp(client, county):
    login(client, "office")
    response = client.get("/live")
    assert response.headers["Refresh"] == "60"
    assert response.headers["Content-Security-Policy"] == CSP
    assert "<script" not in response.get_data(as_text=True)
    paused = client.get("/live?refresh=off")
    assert "Refresh" not in paused.headers and "恢复自动刷新" in paused.get_data(as_text=True)
    selecting = client.get("/live?select=1")  # ticking boxes: the page holds still
    assert "Refresh" not in selecting.headers
    assert 'type="checkbox" name="round"' in selecting.get_data(as_text=True)


def test_participation_per_group_and_overall(client, demo):
    round_, cards = new_round("XW0101", groups={GroupCode.MEMBER: 4, GroupCode.MASSES: 6},
                              title="参与情况")
    by_group = {code: [c for g, c in _cards(round_) if g.code is code]
                for code in (GroupCode.MEMBER, GroupCode.MASSES)}
    for code in by_group[GroupCode.MEMBER][:3] + by_group[GroupCode.MASSES][:3]:
        assert client.post(f"/C/{code}", data=ballot_for(round_)).status_code == 200
    login(client, "office")
    html = client.get("/live").get_data(as_text=True)
    assert "党员 3/4（75%）" in html and "群众代表 3/6（50%）" in html
    assert "<strong>60%</strong>" in html and "已收 6 / 发卡 10" in html


def _cards(round_):
    from evalsvc.services.rounds import card_codes

    return card_codes(round_)


def test_never_a_result_before_close_not_even_in_the_queries(app, client, demo):
    round_, cards = new_round("XW0101", groups={GroupCode.MASSES: 8}, title="七票已收的测评")
    for code in cards[:7]:
        client.post(f"/C/{code}", data=ballot_for(round_, "dissatisfied"))
    login(client, "office")
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(statement.lower())

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        html = client.get("/live").get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert "群众代表 7/8（88%）" in html
    for word in ("不满意", "满意率", "补课", "results", "charts", "有效票"):
        assert word not in html, word
    assert not [s for s in statements if "answers" in s or "result_json" in s]
    closing.close_round(None, db.session.get(Round, round_.id))
    assert "七票已收的测评" not in client.get("/live").get_data(as_text=True)


def test_filter_by_batch_and_by_committee(client, county, demo):
    login(client, "office")
    assert _titles(client.get("/live?batch=2").get_data(as_text=True)) == ["丁·十天前到期"]
    under_school = client.get(f"/live?parent={demo['XW0201']}").get_data(as_text=True)
    assert _titles(under_school) == ["丙·昨天到期"]
    # A 党委: its branches, and the branches of its 总支.
    assert _titles(client.get(f"/live?parent={demo['XW02']}").get_data(as_text=True)) == \
        ["丙·昨天到期"]
    assert _titles(client.get(f"/live?parent={demo['XW01']}&batch=1").get_data(
        as_text=True)) == ["戊·今天到期", "乙·五天后", "甲·未定日期"]
    assert _titles(client.get("/live?batch=9").get_data(as_text=True)) == []
    assert client.get("/live?parent=999999").status_code == 404


def test_secretary_sees_own_branch_only_supervisor_their_subtrees(client, county, demo):
    login(client, "secretary")
    html = client.get("/live").get_data(as_text=True)
    assert _titles(html) == ["甲·未定日期"]
    assert "设置计划结束日期" not in html and 'name="parent"' not in html
    assert client.get(f"/live?parent={demo['XW01']}").status_code == 404
    assert 'type="checkbox"' not in client.get("/live?select=1").get_data(as_text=True)
    client.post("/logout")
    login(client, "supervisor")  # assigned 县直机关党委 (XW01) and 县教育局党委 (XW02)
    html = client.get("/live").get_data(as_text=True)
    assert _titles(html) == ["丙·昨天到期", "戊·今天到期", "乙·五天后", "甲·未定日期"]
    assert "设置计划结束日期" not in html
    assert client.get(f"/live?parent={demo['XW03']}").status_code == 404
    assert 'type="checkbox"' not in client.get("/live?select=1").get_data(as_text=True)


def test_office_sets_the_date_for_a_selection_and_for_all_the_filter_matches(client, county,
                                                                           demo):
    login(client, "office")
    day = today() + timedelta(days=7)
    response = client.post("/live/planned-close", data={
        "planned_close_on": day.isoformat(), "target": "selected",
        "round": [county["none"].id, county["late1"].id]})
    assert response.status_code == 302
    assert f"已为 2 项测评设置计划结束日期 {day}" in client.get("/live").get_data(as_text=True)
    assert _planned(county["none"], county["late1"], county["soon"]) == \
        [day, day, today() + timedelta(days=5)]
    entries = _audit()
    assert [(e.actor, int(e.object_id)) for e in entries] == \
        [("office", county["none"].id), ("office", county["late1"].id)]
    assert json.loads(entries[1].detail) == {
        "planned_close_on": day.isoformat(),
        "previous": (today() - timedelta(days=1)).isoformat()}
    assert entries[1].organisation_id == demo["XW020101"]  # the branch's supervisors see it

    later = today() + timedelta(days=20)
    client.post("/live/planned-close", data={"planned_close_on": later.isoformat(),
                                             "target": "matching", "parent": demo["XW01"]})
    assert _planned(county["none"], county["soon"], county["today"], county["late1"],
                    county["late10"]) == [later, later, later, day,
                                          today() - timedelta(days=10)]
    assert len(_audit()) == 5


def test_past_or_malformed_dates_are_refused_and_nothing_is_stored(client, county):
    login(client, "office")
    before = _planned(*county.values())
    cases = {
        (today() - timedelta(days=1)).isoformat(): "计划结束日期不能早于今天",
        "2026-13-45": "日期格式应为 年-月-日",
        "": "请填写计划结束日期",
        (today() + timedelta(days=400)).isoformat(): "计划结束日期应在一年以内",
    }
    for value, message in cases.items():
        for target in ("selected", "matching"):
            response = client.post("/live/planned-close", data={
                "planned_close_on": value, "target": target, "round": [county["none"].id]})
            assert response.status_code == 302 and "select=1" in response.headers["Location"]
            assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    round_page = client.post(f"/rounds/{county['soon'].id}/planned-close", data={
        "planned_close_on": (today() - timedelta(days=2)).isoformat()}, follow_redirects=True)
    assert "计划结束日期不能早于今天" in round_page.get_data(as_text=True)
    nothing = client.post("/live/planned-close", data={
        "planned_close_on": today().isoformat(), "target": "selected"}, follow_redirects=True)
    assert "请至少选择一项测评" in nothing.get_data(as_text=True)
    assert client.post("/live/planned-close", data={
        "planned_close_on": today().isoformat(), "round": ["1 OR 1=1"]},
        follow_redirects=True).status_code == 200
    assert _planned(*county.values()) == before and _audit() == []


def test_round_page_sets_the_date_and_only_the_office_may(client, county, demo):
    soon = county["soon"]
    day = today() + timedelta(days=3)
    for role in ("secretary", "supervisor"):
        login(client, role)
        assert "保存计划结束日期" not in client.get(f"/rounds/{county['none'].id}").get_data(
            as_text=True)
        response = client.post(f"/rounds/{county['none'].id}/planned-close",
                               data={"planned_close_on": day.isoformat()})
        assert response.status_code == 403
        assert "只有先教办可以设置计划结束日期" in response.get_data(as_text=True)
        assert client.post("/live/planned-close", data={
            "planned_close_on": day.isoformat(), "target": "matching"}).status_code == 403
        client.post("/logout")
    assert _audit() == []
    login(client, "office")
    html = client.get(f"/rounds/{soon.id}").get_data(as_text=True)
    assert "保存计划结束日期" in html
    response = client.post(f"/rounds/{soon.id}/planned-close",
                           data={"planned_close_on": day.isoformat()}, follow_redirects=True)
    assert f"已为 1 项测评设置计划结束日期 {day}" in response.get_data(as_text=True)
    assert _planned(soon) == [day] and len(_audit()) == 1


def test_a_round_closed_meanwhile_is_skipped_and_named(client, county):
    closing.close_round(None, db.session.get(Round, county["soon"].id))
    login(client, "office")
    day = today() + timedelta(days=2)
    response = client.post("/live/planned-close", data={
        "planned_close_on": day.isoformat(), "target": "selected",
        "round": [county["soon"].id, county["none"].id]}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已为 1 项测评设置" in html and "以下测评已结束，未设置：乙·五天后" in html
    assert _planned(county["none"])[0] == day


def test_paging_keeps_the_order_and_the_query_count_does_not_grow(app, client, demo,
                                                                  monkeypatch):
    from evalsvc.services import live

    monkeypatch.setattr(live, "PAGE_SIZE", 3)
    login(client, "office")
    first = _round("XW0101", "第1项", -2)
    counts = [_statements(client, "/live")]
    for n, org in enumerate(("XW0102", "XW0103", "XW020101", "XW020102", "XW030101",
                             "XW030102"), start=2):
        _round(org, f"第{n}项", n - 3)
    counts.append(_statements(client, "/live"))
    pages = [_titles(client.get(f"/live?page={p}").get_data(as_text=True)) for p in (1, 2, 3)]
    assert pages == [["第1项", "第2项", "第3项"], ["第4项", "第5项", "第6项"], ["第7项"]]
    html = client.get("/live?page=99&batch=1").get_data(as_text=True)  # clamped to the last
    assert "第 2 / 2 页（每页 3 项）" in html and _titles(html) == ["第4项", "第5项"]
    assert 'href="/live?page=1&amp;batch=1"' in html and "下一页" not in html
    assert _titles(client.get("/live?page=abc").get_data(as_text=True))[0] == first.title
    assert counts[0] == counts[1], "queries grew with the number of rounds"


def _statements(client, url: str) -> int:
    """SQL statements one request runs."""
    seen = []
    listener = lambda *args: seen.append(1)  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def test_linked_from_the_navigation_and_the_dashboard(client, demo):
    login(client, "secretary")
    assert '<a href="/live">实时进度</a>' in client.get("/live").get_data(as_text=True)
    client.post("/logout")
    login(client, "office")
    html = client.get("/dashboard?batch=2").get_data(as_text=True)
    assert 'href="/live?batch=2"' in html


def test_the_scope_in_sql_is_the_scope_in_python(app, demo):
    """The live view filters by scope.visible_clause/subtree (in the database); they must
    admit exactly what visible_org_ids/descendants_of (in Python) admit."""
    from evalsvc.models import User
    from evalsvc.services import scope

    for root in demo.values():
        assert set(db.session.scalars(scope.subtree([root]))) == scope.descendants_of([root])
    for user in db.session.scalars(sa.select(User)):
        in_sql = set(db.session.scalars(sa.select(Organisation.id).where(
            scope.visible_clause(user, Organisation.id))))
        assert in_sql == (scope.visible_org_ids(user) or set(demo.values())), user.username


def test_an_earlier_campaigns_round_gets_no_planned_close_date(client, demo):
    from evalsvc.services import campaigns

    old, _cards = new_round(open_it=False)
    campaigns.create_campaign(None, "第二批集中教育", 2027, 2027, single_stage=True)
    login(client, "office")
    day = today() + timedelta(days=3)
    response = client.post(f"/rounds/{old.id}/planned-close",
                           data={"planned_close_on": day.isoformat()}, follow_redirects=True)
    assert "已不是当前活动" in response.get_data(as_text=True)
    response = client.post("/live/planned-close", data={
        "planned_close_on": day.isoformat(), "target": "selected", "round": [old.id]},
        follow_redirects=True)
    assert "已不是当前活动" in response.get_data(as_text=True)
    assert _planned(old) == [None] and _audit() == []
