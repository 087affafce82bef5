"""WTForms for the staff pages; choices are filled in by the view."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, HiddenField, IntegerField, PasswordField, SelectField,
    SelectMultipleField, StringField, TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from evalsvc.glossary import label
from evalsvc.models import ItemStatus, MemberStatus, OrgType, Role, Stage


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, text) for value, text in pairs]


def _enum_choices(enum_cls) -> list[SelectChoice]:
    return options((m.value, label(m)) for m in enum_cls)


_CARDS = NumberRange(min=0, max=5000, message="数量应在 0 到 5000 之间")


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class OrgForm(FlaskForm):
    """Add or edit an organisation."""

    code = StringField("编码", validators=[DataRequired("请填写编码"), Length(max=32)])
    name = StringField("名称", validators=[DataRequired("请填写名称"), Length(max=120)])
    type = SelectField("类型", choices=_enum_choices(OrgType))
    unit = SelectField("所在单位", validate_choice=True)  # picked from the unit records
    parent_id = SelectField("上级组织", coerce=_optional_int, validate_choice=True)
    batch_id = SelectField("批次", coerce=_optional_int, validate_choice=True)


class MemberForm(FlaskForm):
    """Add or edit a member of a branch."""

    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    status = SelectField("党员类别", choices=_enum_choices(MemberStatus))
    sort_order = IntegerField("排序（测评票上的顺序；留空则按姓氏笔画排在后面）", validators=[
        Optional(), NumberRange(min=1, max=99_999, message="应在 1 到 99999 之间")])
    active = BooleanField("在册", default=True)


class UserForm(FlaskForm):
    """Add or edit a staff account."""

    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=60)])
    display_name = StringField("姓名", validators=[Length(max=60)])
    role = SelectField("角色", choices=_enum_choices(Role))
    branch_id = SelectField("所在党支部（支部书记）", coerce=_optional_int)
    assigned_ids = SelectMultipleField("负责的组织（督导组）", coerce=int)
    password = PasswordField("密码（新建时必填；编辑时留空则不修改）",
                             validators=[Optional(), Length(max=200)])
    active = BooleanField("启用", default=True)


class RoundForm(FlaskForm):
    """Create a round for a branch."""

    kind = SelectField("测评类型")
    stage = SelectField("阶段", choices=_enum_choices(Stage))
    definition_name = SelectField("测评表", validate_choice=True)
    title = StringField("标题（留空则自动生成）", validators=[Length(max=200)])
    attempt = IntegerField("第几次测评（留空则自动递增）", validators=[
        Optional(), NumberRange(min=1, max=99, message="应在 1 到 99 之间")])
    member_cards = IntegerField("党员测评卡数", default=0, validators=[_CARDS])
    masses_cards = IntegerField("群众代表测评卡数", default=0, validators=[_CARDS])
    service_cards = IntegerField("服务对象测评卡数", default=0, validators=[_CARDS])
    poster = BooleanField("启用公开二维码（海报，非一人一票）")
    poster_cap = IntegerField("公开二维码票数上限（留空则不限）", validators=[
        Optional(), NumberRange(min=1, max=1_000_000, message="应在 1 到 1000000 之间")])
    rehearsal = BooleanField("演练（正式开始前清除演练答卷）")
    # Filled with the approved 整改方案's items by the view; removed when there is none.
    plan_item_ids = SelectMultipleField(
        "整改方案事项（每项增加一道“整改情况评价”题，仅适用于整改提高阶段可添加事项的测评）",
        coerce=int, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class ChineseDateField(DateField):
    """A date whose format error is in Chinese."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("日期格式无效，请按 年-月-日 填写") from None


class PlanItemForm(FlaskForm):
    """An item of a 整改方案; the rules (non-empty, deadline not past) are the service's."""

    problem = TextAreaField("存在问题", render_kw={"rows": 3, "maxlength": 500})
    measures = TextAreaField("整改措施", render_kw={"rows": 4, "maxlength": 2000})
    responsible = StringField("责任人", render_kw={"maxlength": 60})
    deadline = ChineseDateField("整改时限", validators=[Optional()])
    status = SelectField("整改状态", choices=_enum_choices(ItemStatus))
    source_round_id = HiddenField(filters=[lambda v: int(v) if v and str(v).isdigit() else None])


class BriefForm(FlaskForm):
    """A weekly 信息简报."""

    title = StringField("标题", render_kw={"maxlength": 200})
    text = TextAreaField("正文", render_kw={"rows": 8, "maxlength": 10000})
    brief_date = ChineseDateField("日期", validators=[Optional()])
    author = StringField("撰稿人", render_kw={"maxlength": 60})
    organisation_id = SelectField("报送单位", coerce=_optional_int, validate_choice=True)


class ConfirmForm(FlaskForm):
    """A bare form that carries only the CSRF token (logout, one-click actions)."""


_NOT_A_BRANCH = "所选支部中有不存在或不是党支部的组织，请重新选择"


class BulkForm(FlaskForm):
    """Create, open or close the rounds of many branches (office only); choices by the view."""

    action = SelectField("操作", choices=options((("create", "创建测评"), ("open", "开始测评"),
                                                 ("close", "结束测评"))))
    batch = SelectField("批次", coerce=_optional_int, validate_choice=True,
                        invalid_choice_message="所选批次不在本次活动中，请重新选择",
                        invalid_value_message="所选批次不在本次活动中，请重新选择")
    under = SelectField("或：某党委/总支下属全部支部", validate_choice=True,
                        invalid_choice_message="所选上级组织不存在，请重新选择")
    branch_ids = SelectMultipleField("或：选定的支部", coerce=int, validate_choice=True,
                                     invalid_choice_message=_NOT_A_BRANCH,
                                     invalid_value_message=_NOT_A_BRANCH)
    kind = SelectField("测评类型（创建时）")
    stage = SelectField("阶段（创建时）", choices=_enum_choices(Stage))
    member_cards = IntegerField("党员测评卡数（留空则按各支部在册党员数）",
                                validators=[Optional(), _CARDS])
    masses_cards = IntegerField("群众代表测评卡数", default=0, validators=[Optional(), _CARDS])
    service_cards = IntegerField("服务对象测评卡数", default=0, validators=[Optional(), _CARDS])
    window_override = StringField("不在批次测评时间内时，破例开始的理由（开始时）",
                                  validators=[Optional(), Length(max=200)])
    planned_close_on = StringField("计划结束日期（创建或开始时，可留空）",
                                   validators=[Optional(), Length(max=10)],
                                   render_kw={"type": "date"})


class DefinitionForm(FlaskForm):
    """A questionnaire's TOML text, as the files in forms/ hold it."""

    source = TextAreaField("问卷内容（TOML 格式，与 forms/ 目录中的文件相同）",
                           render_kw={"rows": 30, "spellcheck": "false", "class": "code"})
