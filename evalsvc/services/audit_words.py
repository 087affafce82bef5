"""The audit log in words staff read: Chinese action names, readable details, people by
their display names (县委办支部书记, not ``secretary``)."""
import json

import sqlalchemy as sa
from flask import g, has_app_context

from evalsvc.extensions import db
from evalsvc.models import FlagKind, Opinion, Role, Stage, Transition, User

ACTIONS: dict[str, str] = {
    "auth.login": "登录", "auth.logout": "退出登录", "user.create": "新建账号",
    "user.update": "修改账号", "user.change_password": "修改密码",
    "campaign.create": "新建活动", "campaign.kind_settings": "修改测评规则设置",
    "campaign.stage_requirements": "修改转段条件", "batch.window": "设置批次时间",
    "org.create": "新建组织", "org.import": "导入组织", "org.update": "修改组织",
    "member.create": "新增党员", "member.update": "修改党员信息", "member.import": "导入党员名册",
    "round.create": "新建测评", "round.open": "开始测评", "round.close": "结束测评",
    "round.plan_close": "设置计划结束日期", "round.window_override": "批次时间外开始测评",
    "round.print_cards": "打印测评卡", "round.print_paper": "打印纸质测评表",
    "round.print_poster": "打印扫码海报", "round.list_card_urls": "列出测评卡网址",
    "round.delegate_printing": "设置支部打印测评卡", "round.paper_entry": "录入纸质答卷",
    "round.publish_receipts": "公布回执", "round.purge_rehearsal": "清除演练数据",
    "round.traces_cleared": "清除数据库残留痕迹", "round.tally": "命令行统计结果",
    "round.verify": "核验封存", "round.chart": "查看结果图表", "round.export": "导出测评结果",
    "round.verdict.confirm": "确认测评结论", "round.verdict.override": "推翻测评结论",
    "flag.propose.make_up": "规则建议补课", "flag.propose.yellow_card": "规则建议黄牌警示",
    "flag.propose.admonishment": "规则建议集体诫勉", "flag.propose.unqualified": "规则建议初评不合格",
    "flag.make_up.required": "决定补课", "flag.confirmed": "确认规则建议", "flag.overridden": "推翻规则建议", "flag.make_up": "登记补课",
    "flag.make_up_comment": "督导组评补课记录", "flag.branch_decision": "支部处理决定",
    "flag.admonishment.carried_out": "登记集体诫勉执行情况",
    "member_grade.record": "录入党员评定等次", "member_grade.confirm": "确认党员评定等次",
    "member_grade.followup": "登记不合格党员处置", "opinion.write": "填写督导意见",
    "transition.apply": "申请转段", "transition.review": "督导组审核转段申请",
    "transition.decide": "先教办审批转段申请",
    "plan.create": "起草整改方案", "plan.submit": "提交整改方案", "plan.review": "督导组审查整改方案",
    "plan.approve": "先教办批准整改方案", "plan.return": "先教办退回整改方案",
    "plan.note": "登记整改进展",
    "plan.item_add": "新增整改事项", "plan.item_update": "修改整改事项",
    "plan.item_remove": "删除整改事项", "brief.submit": "报送信息简报",
    "public_page.print_poster": "打印整改公示海报", "round.publish_result": "公示测评结果",
    "round.withdraw_result": "撤回公示的测评结果",
    "export.overview": "导出总览", "export.audit_log": "导出审计日志",
    "export.weekly_report": "导出督导工作周报",
    "definition.draft": "保存问卷草稿", "definition.publish": "发布问卷新版本",
}

DETAILS: dict[str, str] = {
    "ballots": "答卷份数", "kind": "类型", "stage": "阶段", "reason": "理由", "note": "说明",
    "on": "日期", "passed": "通过", "summary": "摘要", "verdict": "结论",
    Transition.opinion.key: "意见", "agree": "同意", "approve": "批准", "username": "账号",
    "role": "角色", "name": "名称",
    "code": "编码", "format": "格式", "start": "起", "end": "止", "filters": "筛选条件",
    "cards": "测评卡", "pages": "页数", "cap": "上限", "delegated": "交由支部打印",
    "ok": "核验通过", "differences": "差异", "file": "文件", "decision": "处理决定",
    "before": "修改前", "values": "设置", "batch": "批次", "starts_on": "开始日期",
    "ends_on": "结束日期", "single_stage": "单阶段", "other_sessions_ended": "结束其他登录",
    "member_id": "党员编号", "round_id": "测评编号", "step": "处置", "definition": "测评表",
    "groups": "测评卡分组", "poster_cap": "扫码上限", "rehearsal": "演练", "digest": "封存摘要",
    "seal": "封存版本", "chart": "图表", "engine": "数据库", "comment": "意见", "grade": "等次",
    "planned_close_on": "计划结束日期", "text": "内容", "version": "版本",
    "sha256": "内容指纹（SHA-256）",
}
SYSTEM_ACTORS = {"cli": "命令行操作员", "rules": "规则（自动）", "traces": "系统（自动）"}
ROLE_WORDS = {"operator": "命令行", "system": "系统"}
OBJECT_WORDS = {"round": "测评", "organisation": "组织", "flag": "规则建议", "user": "账号",
                "member": "党员", "transition": "转段申请", Opinion.__name__.lower(): "督导意见",
                "campaign": "活动", "batch": "批次", "definitionversion": "问卷版本", "export": "导出", "membergrade": "党员等次"}


def action_label(action: str) -> str:
    """The Chinese name of an action (the code itself for one nobody has named)."""
    return ACTIONS.get(action, action)


def actions_named(words: str) -> list[str]:
    """The actions whose Chinese name (or code) contains ``words``: the log's filter."""
    words = words.strip()
    return [code for code, name in ACTIONS.items() if words in name or code.startswith(words)]


def display_names() -> dict[str, str]:
    """Username → display name, read once per request."""
    if has_app_context() and "display_names" in g:
        return g.display_names
    names = {u: d for u, d in db.session.execute(sa.select(User.username, User.display_name))
             if d}
    if has_app_context():
        g.display_names = names
    return names


def person(username: str | None) -> str:
    """Who someone is on a staff page: the display name, never the bare username."""
    if not username:
        return ""
    return display_names().get(username) or SYSTEM_ACTORS.get(username, username)


def role_label(role: str) -> str:
    """The Chinese role of an entry's actor."""
    from evalsvc.glossary import label

    try:
        return label(Role(role))
    except ValueError:
        return ROLE_WORDS.get(role, role)


def object_label(object_type: str, object_id: str) -> str:
    """测评 12, 组织 3…"""
    return f"{OBJECT_WORDS.get(object_type, object_type)} {object_id}".strip()


def describe(detail: str) -> str:
    """An entry's JSON detail as 键：值；… in Chinese."""
    try:
        data = json.loads(detail) if detail else {}
    except ValueError:
        return detail
    if not isinstance(data, dict):
        return _value("", data)
    return "；".join(f"{DETAILS.get(k, k)}：{_value(k, v)}" for k, v in data.items()
                    if v not in (None, "", [], {}))


def _value(key: str, value: object) -> str:
    from evalsvc.glossary import kind_label, label

    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        return "，".join(f"{DETAILS.get(k, k)} {_value(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return "，".join(_value(key, v) for v in value)
    if key == "stage":
        try:
            return label(Stage(value))
        except ValueError:
            pass
    if key == "kind":
        try:
            return label(FlagKind(value))
        except ValueError:
            return kind_label(str(value))
    if key == "role":
        return role_label(str(value))
    return str(value)
