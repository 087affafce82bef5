"""``evalsvc campaign start`` and ``list``: many campaigns in one database."""
import json

import sqlalchemy as sa

from evalsvc.extensions import db
from evalsvc.models import Campaign


def listed(runner) -> list[dict]:
    result = runner.invoke(args=["campaign", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_start_makes_a_new_current_campaign_and_list_shows_it(runner, demo):
    [first] = listed(runner)
    result = runner.invoke(args=["campaign", "start", "--name", "第二批集中教育", "--year", "2027"])
    assert result.exit_code == 0, result.output
    assert "已开始活动" in result.output
    rows = listed(runner)
    assert [(r["name"], r["year"], r["current"]) for r in rows] == [
        (first["name"], first["year"], False), ("第二批集中教育", 2027, True)]
    assert set(rows[1]) >= {"id", "name", "year", "current"}


def test_a_taken_name_is_refused_in_chinese_and_nothing_is_stored(runner, demo):
    [first] = listed(runner)
    result = runner.invoke(args=["campaign", "start", "--name", first["name"], "--year", "2027"])
    assert result.exit_code != 0
    assert "已被使用" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1


def test_single_stage_campaign_for_the_annual_member_review(runner, demo):
    result = runner.invoke(args=["campaign", "start", "--name", "2026年度民主评议党员",
                                 "--year", "2026", "--single-stage"])
    assert result.exit_code == 0, result.output
    current = listed(runner)[-1]
    assert current["single_stage"] is True and current["current"] is True
    rules = runner.invoke(args=["campaign", "rules"])
    assert "分析评议阶段转段须通过：无" in rules.output  # no stage gate
