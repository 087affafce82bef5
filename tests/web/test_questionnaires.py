"""问卷管理: the office edits a questionnaire on the web as a draft, previews it as a phone
shows it, and publishes a new version; open rounds keep what they froze."""
import re
import secrets

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import AuditEntry, DefinitionVersion, GroupCode, Round
from evalsvc.questionnaires import built_in_text, definitions, for_campaign
from evalsvc.services import ballots, closing, results
from evalsvc.services.campaigns import ensure_campaign
from tests.helpers import SATISFACTION, csrf_token, login, new_round

EDIT = "/questionnaires/satisfaction/edit"


def _stored() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(DefinitionVersion))


def _audits() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def _reworded(text: str) -> str:
    """satisfaction.toml with a new intro, a reworded question and 促进各项工作 dropped."""
    text = text.replace("提高党员素质", "提高党员队伍素质").replace(
        "请对本单位先进性教育活动整改提高阶段的成效作出评价。", "请对整改成效作出评价（新版）。")
    return re.sub(r'\[\[questions\]\]\nkey = "work"\n.*?\n\n', "", text, flags=re.S)


def _save(client, text: str, name: str = "satisfaction"):
    url = f"/questionnaires/{name}/edit"
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "source": text})


def _publish(client, name: str = "satisfaction"):
    page = client.get(f"/questionnaires/{name}/draft").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([0-9a-f]+)"', page).group(1)
    return client.post(f"/questionnaires/{name}/publish",
                       data={"csrf_token": csrf_token(page), "seen": seen})


def _publish_reworded(client):
    login(client, "office")
    assert _save(client, _reworded(built_in_text("satisfaction"))).status_code == 302
    assert _publish(client).status_code == 302


def test_draft_is_previewed_as_a_phone_shows_it_then_published_as_a_new_version(client, demo):
    login(client, "office")
    assert "问卷管理" in client.get("/").get_data(as_text=True)
    page = client.get(EDIT).get_data(as_text=True)
    assert "提高党员素质" in page and "在用：第 1 版" in page

    response = _save(client, _reworded(built_in_text("satisfaction")))
    assert response.headers["Location"].endswith("/questionnaires/satisfaction/draft")
    draft = client.get("/questionnaires/satisfaction/draft").get_data(as_text=True)
    assert "第 2 版草稿" in draft and "发布为第 2 版" in draft

    preview = client.get("/questionnaires/satisfaction/draft/preview")
    html = preview.get_data(as_text=True)
    assert "<title>预览：整改满意度测评表</title>" in html
    assert "预览：第 2 版草稿，尚未发布，在此无法提交。" in html
    assert "提高党员队伍素质" in html and "促进各项工作" not in html
    assert "请对整改成效作出评价（新版）。" in html
    assert re.search(r'<button type="submit" class="go" disabled>', html)
    assert 'phone.css' in html and 'name="viewport"' in html  # the respondent's layout
    assert client.post("/questionnaires/satisfaction/draft/preview").status_code == 405

    # A draft is never offered: rounds still use the file.
    assert definitions()["satisfaction"].version == 1
    before, _ = new_round(open_it=False)
    assert before.definition_version == 1

    assert _publish(client).status_code == 302
    assert definitions()["satisfaction"].version == 2
    listing = client.get("/questionnaires/").get_data(as_text=True)
    assert "第 2 版" in listing and "第 2 版草稿" not in listing

    after, cards = new_round()
    assert after.definition_version == 2
    phone = client.get(f"/C/{cards[0]}").get_data(as_text=True)
    assert "提高党员队伍素质" in phone and "促进各项工作" not in phone
    assert "请对整改成效作出评价（新版）。" in phone
    # The round made from version 1 while it was current still shows version 1 when opened.
    from evalsvc.services.rounds import layout
    assert [q.text for q in layout(before)][0] == "提高党员素质"


def test_rounds_created_in_the_form_use_the_new_version(client, demo):
    _publish_reworded(client)
    org = demo["XW0101"]
    page = client.get(f"/orgs/{org}/rounds/new").get_data(as_text=True)
    response = client.post(f"/orgs/{org}/rounds/new", data={
        "csrf_token": csrf_token(page), "kind": "satisfaction", "stage": "review",
        "definition_name": "satisfaction", "masses_cards": "3", "member_cards": "0",
        "service_cards": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    round_ = db.session.scalars(sa.select(Round).order_by(Round.id.desc())).first()
    assert round_.definition_version == 2
    assert "提高党员队伍素质" in client.get(f"/rounds/{round_.id}/preview").get_data(as_text=True)


def test_an_open_round_keeps_its_page_and_its_tally(client, demo):
    round_, cards = new_round(groups={GroupCode.MASSES: 8})
    nonce = re.compile(r'name="nonce" value="[^"]+"')
    page_before = nonce.sub("", client.get(f"/C/{cards[-1]}").get_data(as_text=True))
    for code in cards[:3]:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12),
                                 [(k, v, "") for k, v in SATISFACTION.items()])

    _publish_reworded(client)
    client.post("/logout")

    page_after = nonce.sub("", client.get(f"/C/{cards[-1]}").get_data(as_text=True))
    assert page_after == page_before
    assert "促进各项工作" in page_after and "提高党员队伍素质" not in page_after
    for code in cards[3:6]:
        ballots.cast_card_ballot(round_.id, code, secrets.token_urlsafe(12),
                                 [(k, v, "") for k, v in SATISFACTION.items()])
    closing.close_round(None, round_)
    result = results.result_of(round_)
    items = {i.key: i for i in result.items}
    assert result.ballots == 6
    assert "work" in items  # the question the new version dropped is still counted
    assert [(i.key, i.text) for i in result.items][:4] == [
        ("quality", "提高党员素质"), ("organisation", "加强基层组织"),
        ("service", "服务人民群众"), ("work", "促进各项工作")]
    assert items["work"].valid == 6 and result.rate is not None


BAD = [
    ("name = \"satisfaction\"\ntitle = [", "文件：不是有效的 TOML 格式"),
    (lambda t: t.replace('title = "整改满意度测评表"\n', ""), "title：缺少必填的文字"),
    (lambda t: t.replace('scale = "satisfaction"\ntext = "总体评价"',
                         'scale = "none"\ntext = "总体评价"'), "第 5 题 scale：选项组（scale）'none' 没有定义"),
    (lambda t: t.replace('key = "work"', 'key = "quality"'), "问题的 key 'quality' 重复"),
    (lambda t: t.replace('type = "text"', 'type = "essay"'), "第 6 题 type：未知的题型 'essay'"),
    (lambda t: t.replace('version = 1', 'version = 1\nyears = [2014]'),
     "years：应写成 [起始年份, 结束年份]"),
    (lambda t: t.replace('kind = "satisfaction"', 'kind = "opinion"'), "测评类型 'opinion' 不存在"),
    (lambda t: t.replace('name = "satisfaction"', 'name = "satisfaction2"'), "问卷名称不能修改"),
    (lambda t: t.replace('value = "fairly"', 'value = "satisfied"'), "选项的 value 不能重复"),
    (lambda t: t.replace('key = "advice"', 'key = "Advice"'),
     "第 6 题 key：只能用小写英文字母、数字和下划线"),
    (lambda t: t.replace('version = 1', 'version = 0'), "version：应为正整数"),
    (lambda t: t.replace('version = 1', 'version = 1\nstage = "later"'),
     "stage：应为以下之一：study, review, rectify"),
    (lambda t: t.replace('type = "text"', 'type = "text"\nmax_length = -1'),
     "第 6 题 max_length：应为正整数"),
    (lambda t: re.sub(r"options = \[.*?\]\n", 'options = [{ value = "a", label = "甲" }]\n', t,
                      count=1, flags=re.S), "第 1 组选项 options：至少要有两个选项"),
    (lambda t: t[:t.index("[[questions]]")], "questions：至少要有一个问题"),
]


@pytest.mark.parametrize("bad, message", BAD)
def test_text_that_would_not_load_as_a_file_is_refused_in_chinese_and_nothing_stored(
        client, demo, bad, message):
    login(client, "office")
    text = bad(built_in_text("satisfaction")) if callable(bad) else bad
    audits = _audits()
    response = _save(client, text)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message.replace("'", "&#39;") in html, html[html.find('class="error"') - 50:][:400]
    shown = " ".join(re.findall(r'class="error" role="alert">([^<]*)<', html))
    assert not re.search(r"required text|unknown|must be|at least|use lowercase", shown)
    assert _stored() == 0 and _audits() == audits
    assert definitions()["satisfaction"].version == 1


def test_campaign_years_stay_with_edited_versions(client, demo):
    login(client, "office")
    text = built_in_text("satisfaction").replace(
        'version = 1', 'version = 1\ncampaign = "先进性教育活动"\nyears = [2005, 2006]')
    _save(client, text)
    _publish(client)
    assert definitions()["satisfaction"].years == (2005, 2006)
    campaign = ensure_campaign()
    offered = [d.name for d in for_campaign(campaign)]
    assert ("satisfaction" in offered) == (campaign.start_year <= 2006)
    four_winds = built_in_text("opinion_four_winds").replace("具体意见和建议", "具体意见")
    _save(client, four_winds, "opinion_four_winds")
    _publish(client, "opinion_four_winds")
    assert definitions()["opinion_four_winds"].years == (2013, 2014)
    assert definitions()["opinion_four_winds"].version == 2


def test_every_version_is_audited_in_chinese(client, demo):
    _publish_reworded(client)
    _save(client, built_in_text("satisfaction"))
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "definitionversion").order_by(AuditEntry.id)).all()
    assert actions == ["definition.draft", "definition.publish", "definition.draft"]
    log = client.get("/audit/").get_data(as_text=True)
    assert "保存问卷草稿" in log and "发布问卷新版本" in log and "问卷版本" in log


@pytest.mark.parametrize("role", ["supervisor", "secretary"])
def test_only_the_office_edits_questionnaires(client, demo, role):
    login(client, role)
    assert "问卷管理" not in client.get("/").get_data(as_text=True)
    token = csrf_token(client.get("/").get_data(as_text=True))
    audits = _audits()
    for url in ("/questionnaires/", EDIT, "/questionnaires/satisfaction/draft",
                "/questionnaires/satisfaction/draft/preview"):
        assert client.get(url).status_code == 404, url
    assert client.post(EDIT, data={"csrf_token": token, "source": "x"}).status_code == 404
    assert client.post("/questionnaires/satisfaction/publish",
                       data={"csrf_token": token}).status_code == 404
    assert _stored() == 0 and _audits() == audits


def test_saving_and_publishing_refuse_a_missing_csrf_token(make_app, demo_database):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        login(client, "office")
        text = _reworded(built_in_text("satisfaction"))
        assert client.post(EDIT, data={"source": text}).status_code == 400
        assert client.post("/questionnaires/satisfaction/publish").status_code == 400
        assert _stored() == 0


def test_markup_in_an_edited_questionnaire_is_shown_as_text(client, demo):
    login(client, "office")
    text = built_in_text("satisfaction").replace('text = "总体评价"',
                                                 'text = "总体<script>alert(1)</script>评价"')
    assert _save(client, text).status_code == 302
    html = client.get("/questionnaires/satisfaction/draft/preview").get_data(as_text=True)
    assert "总体&lt;script&gt;alert(1)&lt;/script&gt;评价" in html and "<script>" not in html


def test_rounds_opened_together_keep_each_their_own_version(client, demo):
    """Opening in bulk reuses one frozen layout per questionnaire; a round created before
    a publish and one created after it must not share it."""
    from evalsvc.services import bulk_rounds, rounds
    from evalsvc.services.bulk_rounds import Selection

    older, _ = new_round("XW0101", open_it=False)
    _publish_reworded(client)
    newer, _ = new_round("XW0102", open_it=False)
    opened = bulk_rounds.open_rounds(None, Selection(under="XW01")).done
    assert {older.id, newer.id} <= {r.id for r in opened}
    texts = {r.id: [q.text for q in rounds.layout(db.session.get(Round, r.id))]
             for r in (older, newer)}
    assert "提高党员素质" in texts[older.id] and "促进各项工作" in texts[older.id]
    assert "提高党员队伍素质" in texts[newer.id] and "促进各项工作" not in texts[newer.id]


def test_a_draft_changed_after_it_was_reviewed_is_not_published(client, demo):
    """Publishing publishes the text the office looked at: when a colleague saved the
    draft again meanwhile, nothing is published and the office is told to look again."""
    login(client, "office")
    assert _save(client, _reworded(built_in_text("satisfaction"))).status_code == 302
    reviewed = client.get("/questionnaires/satisfaction/draft").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([0-9a-f]+)"', reviewed).group(1)
    _save(client, built_in_text("satisfaction").replace("总体评价", "同事改过的总体评价"))
    response = client.post("/questionnaires/satisfaction/publish",
                           data={"csrf_token": csrf_token(reviewed), "seen": seen},
                           follow_redirects=True)
    assert "草稿在您查看后已被修改" in response.get_data(as_text=True)
    assert "同事改过的总体评价" not in [q.text for q in definitions()["satisfaction"].questions]
    assert db.session.scalar(sa.select(DefinitionVersion.state)).value == "draft"


def test_the_audit_names_the_exact_text_of_each_version(client, demo):
    """Each audit entry of a version carries the SHA-256 of its text, so a stored text
    changed behind the application's back no longer matches its audit trail."""
    import hashlib

    _publish_reworded(client)
    stored = db.session.scalar(sa.select(DefinitionVersion))
    digest = hashlib.sha256(stored.source.encode()).hexdigest()
    details = db.session.scalars(sa.select(AuditEntry.detail).where(
        AuditEntry.object_type == "definitionversion")).all()
    assert len(details) == 2 and all(digest in d for d in details)


@pytest.mark.parametrize("name, change, message", [
    ("satisfaction", ('key = "work"', 'key = "validate"'), "第 4 题 key：validate 是系统保留的名称"),
    ("satisfaction", ('key = "work"', 'key = "nonce"'), "第 4 题 key：nonce 是系统保留的名称"),
    ("satisfaction", ('key = "work"', 'key = "plan_item_0"'), "plan_item_0 是系统保留的名称"),
    ("member_review", ('text = "{name}"', 'text = "{0}{name}"'),
     "每名党员重复的问题只能用 {name} 代表党员姓名"),
])
def test_text_that_would_break_the_phone_page_is_refused(client, demo, name, change, message):
    """Keys the ballot form itself uses, and per-member texts with placeholders other than
    {name}, load as files but break the phone page: refused in Chinese, nothing stored."""
    login(client, "office")
    text = built_in_text(name)
    assert change[0] in text
    before = _stored()
    page = _save(client, text.replace(change[0], change[1], 1), name).get_data(as_text=True)
    assert message in page
    assert _stored() == before


def test_two_first_drafts_saved_at_once_make_one_draft_and_a_chinese_message(
        app, demo, monkeypatch):
    """Two colleagues saving the first draft of a questionnaire at the same moment: one
    draft is stored, the other is told in Chinese (not a server error)."""
    import threading

    from evalsvc.models import User
    from evalsvc.services import definition_versions
    from evalsvc.services.errors import Invalid
    from tests.helpers import at_once

    outcome = {}

    def save():
        office = db.session.scalar(sa.select(User).where(User.username == "office"))
        try:
            definition_versions.save_draft(office, "satisfaction", built_in_text("satisfaction"))
            outcome[threading.current_thread().name] = "saved"
        except Invalid as exc:
            outcome[threading.current_thread().name] = exc.errors["source"]

    at_once(app, monkeypatch, definition_versions, "_next_version", save)
    assert outcome["second"] == "saved"  # (SQLite runs the two one after the other)
    assert outcome["first"] == "saved" or "同事刚刚保存了" in outcome["first"]
    assert _stored() == 1
