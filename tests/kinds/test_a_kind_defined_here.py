"""A kind defined only in this test, registered at run time where the entry points register
theirs: it runs a round from creation to results, dashboard, weekly report and export,
with its own label, setting, verdict and stage requirement, and no core code knows it."""
import csv
import io
import re

import pytest
import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.kinds import register, registry, unregister
from evalsvc.kinds.base import Kind
from evalsvc.kinds.settings import Setting
from evalsvc.models import Campaign, Flag, FlagKind, GroupCode, Organisation, Stage, User
from evalsvc.services import closing, flags, stages
from evalsvc.services.campaign_rules import set_kind_settings
from evalsvc.services.campaigns import current_campaign
from evalsvc.services.errors import Invalid
from tests.helpers import login, new_round

DEFINITION = """
name = "awareness_policy"
kind = "awareness_check"
version = 1
title = "教育活动政策知晓度调查"
intro = "请如实回答。"

[[scales]]
key = "known"
options = [{ value = "known", label = "知道", positive = true },
           { value = "unknown", label = "不知道" }]

[[questions]]
key = "aims"
type = "choice"
text = "您是否知道本次教育活动的目标要求"
scale = "known"
rated = true
"""


class AwarenessKind(Kind):
    """政策知晓度调查: the share who know; below the campaign's floor, 补课."""

    name = "awareness_check"
    label = "政策知晓度调查"
    can_require_make_up = True
    reports_rate = True
    rate_label = "知晓率"
    verdict_words = ("知晓率达标", "知晓率不达标，需要补课")
    required_in = ("study",)
    stages = ("study",)
    settings = (Setting("floor", "知晓率下限", 0.7),)

    def propose(self, result, settings):
        """Below the floor → 补课."""
        return self.rate_verdict(result.rate, settings.kind["floor"])


@pytest.fixture
def new_kind(tmp_path):
    """The kind registered, with its definitions in a directory of its own."""
    (tmp_path / "awareness").mkdir()
    (tmp_path / "awareness" / "awareness_policy.toml").write_text(DEFINITION, encoding="utf-8")
    kind = AwarenessKind()
    kind.definitions_dir = tmp_path / "awareness"
    register(kind)
    yield kind
    unregister(kind.name)


@pytest.fixture
def app(make_app, new_kind):
    """The app started after the kind was registered (it loads the kind's definitions)."""
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def county(app):
    """The demo county, loaded after the kind was registered: its campaign's stage
    requirements are seeded from the kinds installed, as a campaign started now would be
    (the suite's ready-made ``demo`` copy was made before this kind existed)."""
    from evalsvc.services.demo import load_demo

    load_demo()
    return dict(db.session.execute(sa.select(Organisation.code, Organisation.id)).all())


def _vote(client, code: str, value: str) -> None:
    html = client.get(f"/C/{code}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    assert "提交成功" in client.post(f"/C/{code}", data={"aims": value, "nonce": nonce}) \
        .get_data(as_text=True)


def test_registering_a_taken_name_is_refused(new_kind):
    with pytest.raises(ValueError, match="already registered"):
        register(AwarenessKind())
    assert registry()["awareness_check"] is new_kind


def test_a_new_kind_runs_end_to_end_without_any_core_change(client, county):
    org = db.session.scalar(sa.select(Organisation).where(Organisation.code == "XW030101"))
    round_, cards = new_round("XW030101", "awareness_check", Stage.STUDY, {GroupCode.MASSES: 6})
    assert round_.definition_name == "awareness_policy"
    # The campaign's stage requirements came from what the kind declares.
    assert "awareness_check" in current_campaign().stage_requirements["study"]
    assert any("政策知晓度调查（第1次）尚未结束" in m for m in stages.missing_for(org, Stage.STUDY))
    for i, code in enumerate(cards):
        _vote(client, code, "known" if i < 4 else "unknown")
    closing.close_round(None, round_)
    assert round_.passed is False  # 4 of 6 = 66.7 % is below the 70 % floor
    assert any("未通过" in m for m in stages.missing_for(org, Stage.STUDY))
    # The office confirms the rules' 补课; the follow-up flag carries the kind's own words.
    office = db.session.scalar(sa.select(User).where(User.username == "office"))
    flags.confirm_verdict(office, round_)
    make_up = db.session.scalar(sa.select(Flag).where(Flag.round_id == round_.id,
                                                      Flag.kind == FlagKind.MAKE_UP))
    assert "知晓率 66.7%，低于 70%" in make_up.summary

    login(client, "office")
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "知晓率 <strong>66.7%</strong>" in page and "知晓率不达标，需要补课" in page
    assert "满意率" not in page
    text = client.get(f"/rounds/{round_.id}/results.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert ["结果", "全部题目", "综合知晓率", "", "66.7%"] in rows
    assert "知晓率 66.7%" in client.get("/dashboard").get_data(as_text=True)
    overview = client.get("/dashboard/export.csv").get_data(as_text=True)
    assert "学习动员知晓率" in overview.splitlines()[0]
    assert "<th>知晓率</th>" in client.get("/reports/weekly").get_data(as_text=True)


def test_a_new_kinds_setting_is_checked_and_stored_without_a_migration(app, county):
    campaign = current_campaign()
    with pytest.raises(Invalid) as refused:
        set_kind_settings(None, campaign, "awareness_check", {"floor": "120%", "ceiling": "1"})
    assert "知晓率下限" in refused.value.errors["floor"]
    assert "ceiling" in refused.value.errors
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).kind_settings is None  # nothing stored
    assert set_kind_settings(None, campaign, "awareness_check", {"floor": "55%"}) == \
        {"floor": pytest.approx(0.55)}
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).kind_settings == \
        {"awareness_check": {"floor": pytest.approx(0.55)}}


def test_a_kind_held_only_in_some_stages_is_refused_elsewhere(app, county):
    with pytest.raises(Invalid) as refused:
        new_round("XW0101", "awareness_check", Stage.REVIEW, {GroupCode.MASSES: 6})
    assert refused.value.errors["stage"] == "政策知晓度调查只能在学习动员阶段开展"
