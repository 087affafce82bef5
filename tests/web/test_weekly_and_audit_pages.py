"""The weekly report and the audit log as the office and the supervision group read them:
Chinese words, display names, Beijing time, the week's opinions and a batch summary."""
import re
from datetime import date, timedelta, timezone

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry
from evalsvc.services import audit
from evalsvc.services.today import today
from tests.helpers import login, org_id


def test_the_weekly_page_has_the_batch_summary_and_the_weeks_opinions(client, demo, demo_rounds):
    login(client, "supervisor")
    client.post(f"/orgs/{demo['XW0101']}/opinions", data={"text": "整改台账需细化到人"})
    first = today() - timedelta(days=6)
    start, end = first.isoformat(), today().isoformat()
    page = client.get(f"/reports/weekly?from={start}&to={end}").get_data(as_text=True)
    assert f"督导工作周报（{first.year}年{first.month}月{first.day}日至" in page
    assert "各批次汇总" in page and "第1批" in page and "黄牌警示" in page
    assert "整改台账需细化到人" in page and "第一督导组" in page
    assert "结束测评，收回答卷 16 份" in page and "（cli）" not in page
    assert "北京时间" in page
    pdf = client.get(f"/reports/weekly.pdf?from={start}&to={end}").data
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "整改台账需细化到人" in text and "各批次汇总" in text
    assert "信息简报" in text and "逾期整改事项" in text  # the 整改提高 sections too


def test_the_default_period_is_the_week_before_the_reporting_day(client, demo, app):
    app.config["WEEKLY_REPORT_WEEKDAY"] = 4
    login(client, "office")
    page = client.get("/reports/weekly").get_data(as_text=True)
    start = re.search(r'name="from" value="([0-9-]+)"', page).group(1)
    end = re.search(r'name="to" value="([0-9-]+)"', page).group(1)

    start, end = date.fromisoformat(start), date.fromisoformat(end)
    assert (end - start).days == 6 and (end + timedelta(days=1)).isoweekday() == 4
    assert 1 <= (today() - end).days <= 7


def test_the_audit_log_reads_in_chinese_with_names_and_beijing_time(client, demo_rounds):
    login(client, "office")
    page = client.get("/audit/?action=结束测评").get_data(as_text=True)
    assert "round.close" not in page and "答卷份数：" in page and '{"' not in page
    assert "命令行操作员" in page and "时间均为北京时间" in page
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "auth.login"))
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc)
    beijing = (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page = client.get("/audit/?action=登录&actor=先教办").get_data(as_text=True)
    assert beijing in page and "县先教办" in page


def test_the_audit_log_filters_by_person_branch_and_date_and_pages(client, demo):
    from evalsvc.models import Organisation

    office = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW0101"))
    audit.record_action(None, "round.verify", office, differences=["x" * 400])
    login(client, "secretary")
    client.post("/logout")
    login(client, "office")
    page = client.get("/audit/?actor=县委办支部书记").get_data(as_text=True)
    assert "县委办支部书记" in page and "退出登录" in page and "命令行操作员" not in page
    page = client.get("/audit/?branch=XW0101&action=核验").get_data(as_text=True)
    assert "x" * 400 in page  # the detail is not cut off
    assert "县委办公室党支部" in page
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert "没有符合条件的记录" in client.get(f"/audit/?since={tomorrow}").get_data(as_text=True)
    for i in range(120):
        audit.record_action(None, "round.verify", office, ok=True, n=i)
    first = client.get("/audit/?action=核验封存").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "下一页" in first
    second = client.get("/audit/?action=核验封存&page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in second and "上一页" in second
    assert org_id("XW0101")


def test_odd_filter_input_reads_as_no_filter_not_an_error(client, demo):
    login(client, "office")
    odd = ["since=0001-01-01", "until=9999-12-31", "org=99999999999999999999", "org=-1",
           "page=99999999999999999999", "branch=%27%20OR%201%3D1--", "actor=%25"]
    for query in odd:
        for path in ("/audit/", "/audit/export.xlsx"):
            assert client.get(f"{path}?{query}").status_code == 200, (path, query)
    page = client.get("/audit/?org=99999999999999999999").get_data(as_text=True)
    assert "登录" not in page.split("</form>")[-1]  # no organisation has that number
    for query in ("from=0001-01-01&to=0001-01-07", "from=9999-12-25&to=9999-12-31"):
        for suffix in ("", ".xlsx", ".pdf"):
            assert client.get(f"/reports/weekly{suffix}?{query}").status_code == 200, query


def test_the_audit_links_carry_the_filters_and_nothing_else(client, demo_rounds):
    login(client, "office")
    response = client.get("/audit/?endpoint=x&_anchor=top&_external=1&action=%E7%99%BB%E5%BD%95")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    link = re.search(r'href="([^"]*export\.xlsx[^"]*)"', page).group(1)
    assert "action=" in link and "#" not in link and "endpoint" not in link \
        and not link.startswith("http")
    pager = re.search(r'href="([^"]*)" rel="next"', client.get(
        "/audit/?endpoint=x&_anchor=top").get_data(as_text=True))
    assert pager is None or ("page=2" in pager.group(1) and "#" not in pager.group(1))


def test_the_weekly_report_reads_a_county_of_branches_in_a_few_queries(app, demo):
    """Each branch's stage states come with the branches, not one query per branch, so a
    county of hundreds of branches reports quickly on a database across the network."""
    from evalsvc.models import Organisation, OrgType, Role, User
    from evalsvc.services import report

    some = db.session.scalar(sa.select(Organisation).where(Organisation.type == OrgType.BRANCH))
    for i in range(300):
        db.session.add(Organisation(code=f"ZZ{i:04d}", name=f"第{i}号党支部", type=OrgType.BRANCH,
                                    parent_id=some.parent_id, batch_id=some.batch_id))
    db.session.commit()
    office = db.session.scalar(sa.select(User).where(User.role == Role.OFFICE))
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        weekly = report.weekly(office, today() - timedelta(days=6), today())
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert weekly.branch_count() > 300 and len(statements) < 100
    assert len(weekly.branches) == sum(min(report.LISTED, weekly.branch_count(batch))
                                       for batch in weekly.batch_numbers())


def test_an_opinion_is_written_on_a_branch_where_the_weekly_report_reads_it(client, demo):
    """A committee page offers no opinion form; a direct post there is refused rather than
    stored where no page nor the weekly report would show it."""
    from evalsvc.models import Opinion, Organisation

    committee = db.session.get(Organisation, demo["XW0101"]).parent_id
    login(client, "supervisor")
    page = client.post(f"/orgs/{committee}/opinions", data={"text": "党委层面督导意见"},
                       follow_redirects=True).get_data(as_text=True)
    assert "督导意见针对党支部或其测评填写" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Opinion)) == 0


def test_a_percent_sign_in_a_filter_is_a_character_not_a_wildcard(client, demo_rounds):
    login(client, "office")
    for query in ("action=%25", "branch=%25", "action=_"):
        page = client.get(f"/audit/?{query}").get_data(as_text=True)
        assert "没有符合条件的记录" in page, query
