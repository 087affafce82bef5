"""Every staff list of branches at province scale: the dashboard, its side lists, the rounds
list, the organisation tree and the live view are read a page at a time, filtered and
searched, with the totals shown; paging links keep the filter (and nothing else); a
supervisor never sees past their scope through any filter, page or search; and a page's
number of SQL statements does not grow with the number of branches."""
import json
import re
import threading
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import (
    Ballot, Decision, Flag, FlagKind, GroupCode, Organisation, OrgType,
    RespondentGroup, Round, RoundState, Stage, StageProgress, StageState,
)
from evalsvc.services import dashboard
from evalsvc.services.campaigns import current_campaign
from tests.helpers import login

DAY = date(2005, 10, 1)


def add_branches(count: int, parent_code: str = "XW05", prefix: str = "ZZ",
                 name: str = "新增村党支部") -> list[int]:
    """``count`` branches under ``parent_code`` (codes ZZ0001…), each with what a branch of
    a grown campaign has: a closed round with its totals kept, an open round with cards and
    ballots, a yellow card and stage progress."""
    campaign = current_campaign()
    parent = db.session.scalar(sa.select(Organisation).where(Organisation.code == parent_code))
    orgs = [Organisation(code=f"{prefix}{i:04d}", name=f"{name}{i:04d}",
                         type=OrgType.BRANCH, parent_id=parent.id, batch_id=parent.batch_id,
                         unit="") for i in range(1, count + 1)]
    db.session.add_all(orgs)
    db.session.flush()
    live_rounds = []
    for org in orgs:
        closed = Round(organisation_id=org.id, campaign_id=campaign.id, stage=Stage.STUDY,
                       kind="stage_review", definition_name="stage_review", title="学习动员",
                       state=RoundState.CLOSED, created_on=DAY, closed_on=DAY, passed=True,
                       verdict_status=Decision.CONFIRMED, cards_issued=10, ballots_counted=9,
                       figures_json=json.dumps({"满意率": 0.9}))
        live = Round(organisation_id=org.id, campaign_id=campaign.id, stage=Stage.REVIEW,
                     kind="stage_review", definition_name="stage_review", title="分析评议",
                     state=RoundState.OPEN, created_on=DAY, opened_on=DAY, cards_issued=5,
                     groups=[RespondentGroup(code=GroupCode.MASSES, card_count=5)])
        db.session.add_all([closed, live, StageProgress(
            organisation_id=org.id, campaign_id=campaign.id, stage=Stage.STUDY,
            state=StageState.PASSED), Flag(
            kind=FlagKind.YELLOW_CARD, campaign_id=campaign.id, organisation_id=org.id,
            stage=Stage.REVIEW, status=Decision.CONFIRMED, raised_on=DAY)])
        live_rounds.append(live)
    db.session.flush()  # all branches' rows at once (a flush per branch took twice as long)
    db.session.add_all([Ballot(id=f"b{live.organisation_id}", round_id=live.id,
                               group_id=live.groups[0].id, day=DAY) for live in live_rounds])
    db.session.commit()
    return [o.id for o in orgs]


def _codes(html: str) -> list[str]:
    """Branch names in the dashboard's table, in order."""
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="/orgs/\d+">([^<]+)</a>', table)


def _links(html: str, rel: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(
        rf'<a href="([^"]+)" rel="{rel}">', html)]


def test_the_dashboard_pages_branches_by_code_with_the_count(client, demo):
    add_branches(60)
    login(client, "office")
    first = client.get("/dashboard").get_data(as_text=True)
    assert "共 72 个支部" in first and "第 1 页，共 2 页" in first
    names = _codes(first)
    assert len(names) == dashboard.PAGE_SIZE
    second = client.get(_links(first, "next")[0]).get_data(as_text=True)
    rest = _codes(second)
    assert len(rest) == 72 - dashboard.PAGE_SIZE and not set(rest) & set(names)
    assert "第 2 页，共 2 页" in second and _links(second, "prev")
    assert "参与 20%" in second  # the open round's one ballot of five cards
    assert "满意率 90.0%" in second  # the figures kept at close


def test_paging_links_keep_the_filter_and_nothing_else(client, demo):
    add_branches(60)
    login(client, "office")
    html = client.get(f"/dashboard?parent={demo['XW05']}&q=村&evil=%22x&next=//e.example"
                      "&page=1").get_data(as_text=True)
    (link,) = _links(html, "next")
    assert "evil" not in link and "next=" not in link and "e.example" not in link
    assert f"parent={demo['XW05']}" in link and "q=" in link and "page=2" in link
    assert not [href for href in re.findall(r'href="([^"]+)"', html) if "evil" in href]


@pytest.mark.parametrize("query, expected", [
    ("q=zz0007", ["新增村党支部0007"]),  # a code, in any case
    ("q=新增村党支部005", [f"新增村党支部005{i}" for i in range(10)]),  # part of a name
    ("q=%25", []),  # % is a character, not a wildcard
    ("batch=2", ["古宋镇机关党支部", "古宋镇城东社区党支部", "县人民医院内科党支部",
                 "县人民医院外科党支部"]),
])
def test_the_dashboard_searches_and_filters(client, demo, query, expected):
    add_branches(60)
    login(client, "office")
    html = client.get(f"/dashboard?{query}").get_data(as_text=True)
    assert sorted(_codes(html)) == sorted(expected)
    assert f"共 {len(expected)} 个支部" in html


def test_the_dashboard_filters_by_stage_state_and_marks(client, demo):
    ids = add_branches(3)
    first = db.session.scalar(sa.select(Flag).where(Flag.organisation_id == ids[0]))
    first.status = Decision.OVERRIDDEN  # an overridden yellow card no longer marks it
    db.session.commit()
    login(client, "office")
    def found(query):
        return _codes(client.get(f"/dashboard?q=新增&{query}").get_data(as_text=True))

    assert len(found("stage=study&state=passed")) == 3
    assert len(found("state=passed")) == 3  # in any stage
    assert found("stage=study&state=not_started") == []
    assert len(found("stage=review&state=not_started")) == 3  # no progress row: not started
    assert found("stage=review&state=in_progress") == []
    yellow = _codes(client.get("/dashboard?mark=yellow_card").get_data(as_text=True))
    assert yellow == ["新增村党支部0002", "新增村党支部0003"]
    assert _codes(client.get("/dashboard?mark=to_decide").get_data(as_text=True)) == []
    # Unknown values are ignored, not errors.
    assert client.get("/dashboard?stage=x&state=y&mark=z&batch=a&page=-3").status_code == 200


def test_a_supervisor_never_sees_past_their_scope(client, demo):
    add_branches(60, parent_code="XW03")  # outside the demo supervisor's XW01 and XW02
    login(client, "supervisor")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "共 5 个支部" in html and "新增村党支部" not in html
    for query in ("q=新增", "q=ZZ", "batch=2", "stage=study&state=passed",
                  "mark=yellow_card", "page=2"):
        html = client.get(f"/dashboard?{query}").get_data(as_text=True)
        assert "新增村党支部" not in html and "县人民医院" not in html, query
    assert client.get(f"/dashboard?parent={demo['XW03']}").status_code == 404
    assert client.get("/dashboard/lists/passes").status_code == 404  # the office's
    for url in ("/?q=新增", "/rounds?q=新增", "/live?q=新增", "/dashboard/lists/pending"):
        assert "新增村党支部" not in client.get(url).get_data(as_text=True), url
    assert client.get(f"/?root={demo['XW03']}").status_code == 404
    assert client.get(f"/live?parent={demo['XW0201']}").status_code == 200


def test_side_lists_show_the_first_few_and_link_to_the_whole_list(client, demo,
                                                                  monkeypatch):
    from tests.services.test_rules import run_round, user

    rounds = [run_round(user("office"), code, "stage_review",
                        db.session.get(Organisation, demo[code]).current_stage,
                        confirm_pass=False) for code in ("XW0101", "XW0102", "XW0103")]
    monkeypatch.setattr(dashboard, "SIDE_SIZE", 2)
    login(client, "office")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "待确认的通过判定（3）" in html and "查看全部 3 项" in html
    assert html.count('name="round"') == 2
    from evalsvc.web import dashboard as dashboard_page

    monkeypatch.setattr(dashboard_page, "SIDE_CAP", 2)  # counting stops past the cap
    html = client.get("/dashboard").get_data(as_text=True)
    assert "待确认的通过判定（2+）" in html and "查看全部 2+ 项" in html
    monkeypatch.setattr(dashboard_page, "SIDE_CAP", 1000)
    full = client.get("/dashboard/lists/passes").get_data(as_text=True)
    assert full.count('name="round"') == 3
    token = re.search(r'name="csrf_token" value="([^"]+)"', full)
    data = {"round": [str(rounds[0].id), str(rounds[2].id)],
            "next": "/dashboard/lists/passes"}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post("/verdicts/confirm-passes", data=data)
    assert response.status_code == 302 and response.location.endswith("/dashboard/lists/passes")
    for round_ in rounds:
        db.session.refresh(round_)
    assert [r.verdict_status for r in rounds] == [Decision.CONFIRMED, Decision.PROPOSED,
                                                  Decision.CONFIRMED]
    assert client.get("/dashboard/lists/nothing").status_code == 404


def test_the_rounds_list_pages_filters_and_searches(client, demo):
    add_branches(30)
    login(client, "office")
    html = client.get("/rounds").get_data(as_text=True)
    assert "共 60 项测评" in html and "第 1 页，共 2 页" in html
    assert "共 30 项测评" in client.get("/rounds?state=open").get_data(as_text=True)
    html = client.get("/rounds?q=ZZ0003").get_data(as_text=True)
    assert "共 2 项测评" in html and "新增村党支部0003" in html
    assert "共 0 项测评" in client.get("/rounds?kind=nonsense&q=%25").get_data(as_text=True)


def test_the_tree_folds_deep_levels_and_searches(client, demo, monkeypatch):
    add_branches(5)
    login(client, "office")
    html = client.get("/").get_data(as_text=True)
    assert "新增村党支部0005" in html  # a county's tree shows whole
    from evalsvc.services import org_tree

    monkeypatch.setattr(org_tree, "TREE_LIMIT", 8)
    monkeypatch.setattr(org_tree.tree, "__defaults__", (None, 8))
    html = client.get("/").get_data(as_text=True)
    assert "县直机关党委" in html and "新增村党支部" not in html
    assert f'/?root={demo["XW05"]}' in html and "展开下级组织" in html
    html = client.get(f"/?root={demo['XW05']}").get_data(as_text=True)
    assert "共乐镇农村党总支" in html
    html = client.get("/?q=zz000").get_data(as_text=True)
    assert "共 5 个组织" in html and "新增村党支部0001" in html and "县直机关党委" not in html


def test_the_live_view_searches_within_the_filter(client, demo):
    add_branches(3)
    login(client, "office")
    html = client.get("/live?q=ZZ0002").get_data(as_text=True)
    assert "共 <strong>1</strong> 项" in html and "新增村党支部0002" in html


def test_the_export_lists_every_branch_the_filter_admits(client, demo, monkeypatch):
    monkeypatch.setattr(dashboard, "EXPORT_CHUNK", 7)  # several chunks
    add_branches(20)
    login(client, "office")
    text = client.get("/dashboard/export.csv?q=新增").get_data(as_text=True)
    lines = text.strip().splitlines()
    assert len(lines) == 1 + 20 and lines[1].startswith("ZZ0001") \
        and lines[-1].startswith("ZZ0020")
    text = client.get("/dashboard/export.csv").get_data(as_text=True)
    assert len(text.strip().splitlines()) == 1 + 32


@contextmanager
def statements():
    """Count the SQL statements this thread runs inside the block (not a background
    thread's, such as the traces retry after a close)."""
    seen, me = [], threading.get_ident()

    def count(*_args):
        if threading.get_ident() == me:
            seen.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


PAGES = ("/dashboard", "/dashboard?q=村&mark=yellow_card&stage=study&state=passed",
         "/dashboard?page=2", "/dashboard/lists/pending", "/rounds", "/rounds?page=2",
         "/", "/?q=村", "/live", "/live?page=2")


@pytest.mark.parametrize("username", ["office", "supervisor"])
def test_a_pages_statements_do_not_grow_with_the_branches(client, demo, username):
    """Deterministic, not timed: the same pages at 10 and at 60 more branches (beyond a
    page) run the same number of statements."""
    login(client, username)
    parent = "XW01" if username == "supervisor" else "XW05"
    counts = {}
    for size, prefix in ((10, "ZA"), (60, "ZB")):
        add_branches(size if size == 10 else size - 10, parent_code=parent, prefix=prefix)
        counts[size] = []
        for url in PAGES:
            client.get(url)  # warm: the kinds registry, the session
            with statements() as seen:
                assert client.get(url).status_code == 200, url
            counts[size].append(len(seen))
    assert counts[10] == counts[60], list(zip(PAGES, counts[10], counts[60]))


@pytest.mark.parametrize("url", [
    "/dashboard?batch=%C2%B2", "/dashboard?parent=%C2%B2",  # ² is a digit to isdigit only
    "/dashboard/export.csv?parent=%C2%B2",
    "/live?parent=99999999999999999999", "/live?batch=99999999999999999999",
    "/?root=99999999999999999999",  # past the database's integer: overflow, not a 500
    "/jobs/99999999999999999999", "/jobs/99999999999999999999/file",
])
@pytest.mark.parametrize("username", ["office", "supervisor"])
def test_odd_numbers_in_a_list_url_are_not_server_errors(client, demo, url, username):
    login(client, username)
    assert client.get(url).status_code in (200, 404)
