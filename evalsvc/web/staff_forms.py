"""WTForms for the staff pages; choices are filled in by the view."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, PasswordField, SelectField, SelectMultipleField, StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from evalsvc.glossary import label
from evalsvc.models import MemberStatus, OrgType, Role


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, text) for value, text in pairs]


def _enum_choices(enum_cls) -> list[SelectChoice]:
    return options((m.value, label(m)) for m in enum_cls)


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class OrgForm(FlaskForm):
    """Add or edit an organisation."""

    code = StringField("编码", validators=[DataRequired("请填写编码"), Length(max=32)])
    name = StringField("名称", validators=[DataRequired("请填写名称"), Length(max=120)])
    type = SelectField("类型", choices=_enum_choices(OrgType))
    unit = StringField("所在单位", validators=[Length(max=120)])
    parent_id = SelectField("上级组织", coerce=_optional_int, validate_choice=True)
    batch_id = SelectField("批次", coerce=_optional_int, validate_choice=True)


class MemberForm(FlaskForm):
    """Add or edit a member of a branch."""

    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=60)])
    status = SelectField("党员类别", choices=_enum_choices(MemberStatus))
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


class ConfirmForm(FlaskForm):
    """A bare form that carries only the CSRF token (logout, one-click actions)."""
