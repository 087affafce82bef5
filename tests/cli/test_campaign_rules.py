"""``evalsvc campaign``: kinds' settings and stage requirements, as the operator sets them."""
from evalsvc.models import Stage
from evalsvc.services import stages
from evalsvc.services.campaigns import current_campaign
from tests.helpers import org_id


def test_rules_lists_what_each_stage_requires(runner, demo):
    result = runner.invoke(args=["campaign", "rules"])
    assert result.exit_code == 0, result.output
    assert "分析评议阶段转段须通过：" in result.output and "民主评议党员" in result.output


def test_a_stage_requirement_is_campaign_data(runner, demo):
    from evalsvc.extensions import db
    from evalsvc.models import Organisation

    result = runner.invoke(args=["campaign", "require", "study", "satisfaction"])
    assert result.exit_code == 0, result.output
    assert current_campaign().stage_requirements["study"] == ["satisfaction"]
    org = db.session.get(Organisation, org_id("XW030101"))
    assert stages.missing_for(org, Stage.STUDY) == ["尚无已结束的整改满意度测评"]
    refused = runner.invoke(args=["campaign", "require", "study", "ballet"])
    assert refused.exit_code != 0 and "未知的测评类型：ballet" in refused.output
    assert current_campaign().stage_requirements["study"] == ["satisfaction"]


def test_a_bad_setting_is_refused_in_chinese_and_nothing_changes(runner, demo):
    refused = runner.invoke(args=["campaign", "set", "satisfaction", "threshold=0.5"])
    assert refused.exit_code != 0 and "该测评类型没有「threshold」这一设置" in refused.output
    assert current_campaign().kind_settings is None
