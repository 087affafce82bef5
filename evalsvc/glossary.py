"""The one place where code names meet their Chinese labels."""
from flask import Flask

from evalsvc.models import ItemStatus, PlanState, BranchDecision, Decision, FlagKind, GroupCode, TransitionState, MemberStatus, OrgType, Role, RoundState, Stage, StageState

LABELS: dict[object, str] = {
    OrgType.WORKING_COMMITTEE: "机关工委",
    OrgType.COMMITTEE: "党委",
    OrgType.GENERAL_BRANCH: "党总支",
    OrgType.BRANCH: "党支部",
    MemberStatus.FULL: "正式党员",
    MemberStatus.PROBATIONARY: "预备党员",
    Role.OFFICE: "先教办",
    Role.SUPERVISOR: "督导组",
    Role.SECRETARY: "支部书记",
    Stage.STUDY: "学习动员",
    Stage.REVIEW: "分析评议",
    Stage.RECTIFY: "整改提高",
    StageState.NOT_STARTED: "未开始",
    StageState.IN_PROGRESS: "进行中",
    StageState.AWAITING_REVIEW: "待审核",
    StageState.PASSED: "已通过",
    RoundState.DRAFT: "草稿",
    RoundState.OPEN: "进行中",
    RoundState.CLOSED: "已结束",
    GroupCode.MEMBER: "党员",
    GroupCode.MASSES: "群众代表",
    GroupCode.SERVICE: "服务对象",
    GroupCode.PUBLIC: "公开扫码",
    FlagKind.MAKE_UP: "补课",
    FlagKind.YELLOW_CARD: "黄牌警示",
    FlagKind.ADMONISHMENT: "集体诫勉",
    FlagKind.UNQUALIFIED: "初评不合格",
    Decision.PROPOSED: "待确认",
    Decision.CONFIRMED: "已确认",
    Decision.OVERRIDDEN: "已推翻",
    BranchDecision.EDUCATE: "帮助教育",
    BranchDecision.CORRECT: "限期改正",
    BranchDecision.PERSUADE: "劝退",
    BranchDecision.EXPEL: "除名",
    TransitionState.APPLIED: "待督导审核",
    TransitionState.AGREED: "督导组同意",
    TransitionState.OBJECTED: "督导组有异议",
    TransitionState.APPROVED: "已批准",
    TransitionState.RETURNED: "已退回",
    PlanState.DRAFT: "草稿",
    PlanState.SUBMITTED: "待审批",
    PlanState.RETURNED: "已退回",
    PlanState.APPROVED: "已批准",
    ItemStatus.NOT_STARTED: "未开始",
    ItemStatus.IN_PROGRESS: "进行中",
    ItemStatus.DONE: "已完成",
}

# Accepted spellings of the organisation type in import files.
ORG_TYPE_NAMES: dict[str, OrgType] = {
    **{t.value: t for t in OrgType},
    **{LABELS[t]: t for t in OrgType},
    "总支": OrgType.GENERAL_BRANCH,
    "支部": OrgType.BRANCH,
}


def label(value: object) -> str:
    """The Chinese label of an enum member (or the value itself when it has none)."""
    return LABELS.get(value, str(getattr(value, "value", value)))


def init_app(app: Flask) -> None:
    """Expose ``label`` to templates as a filter, and the stages in order."""
    app.add_template_filter(label, "label")
    app.jinja_env.globals["stages"] = list(Stage)
    app.jinja_env.globals["kind_label"] = kind_label
    app.jinja_env.globals["branch_decisions"] = list(BranchDecision)
    app.jinja_env.globals["item_statuses"] = list(ItemStatus)
    app.jinja_env.globals["stage_label"] = lambda value: label(Stage(value))


def kind_label(name: str) -> str:
    """The Chinese name of a questionnaire kind."""
    from evalsvc.kinds import UnknownKind, get_kind

    try:
        return get_kind(name).label
    except UnknownKind:
        return name
