from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from ..workflow.passwords import password_problem

MOBILE = Regexp(r"^1\d{10}$", message=_l("请输入11位手机号码。"))


class PasswordPolicy:
    """The password policy (app/workflow/passwords.py); `login_field` names the form's field
    holding the login name, which the password may not contain."""

    def __init__(self, login_field: str | None = None):
        self.login_field = login_field

    def __call__(self, form, field):
        own = form[self.login_field].data if self.login_field else None
        if problem := password_problem(field.data or "", own):
            raise ValidationError(str(problem))


class LoginForm(FlaskForm):
    username = StringField(_l("用户名或手机号"), validators=[DataRequired(_l("请输入用户名。"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。"))])


class RegisterForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请输入姓名。")), Length(max=60)])
    # The tenant's identity documents (tenant.toml id_documents); the mainland ID card unless
    # another is chosen.
    id_type = SelectField(_l("证件类型"), choices=[], default="resident_id")
    id_number = StringField(_l("证件号码"), validators=[DataRequired(_l("请输入证件号码。"))])
    work_permit = StringField(_l("外国人工作许可证号（持护照申报的外籍人员填写）"),
                              validators=[Length(max=40)])
    mobile = StringField(_l("手机号码（用作登录名）"), validators=[DataRequired(_l("请输入手机号码。")), MOBILE])
    person_type = SelectField(_l("人员类别"), choices=[])
    employer = SelectField(_l("所在单位"), choices=[], coerce=int)
    association = SelectField(_l("推荐协会（自由职业者）"), choices=[], coerce=int)
    password = PasswordField(_l("密码（至少10位）"), validators=[
        DataRequired(_l("请设置密码。")), PasswordPolicy("mobile")])
    password2 = PasswordField(_l("再次输入密码"), validators=[
        EqualTo("password", message=_l("两次输入的密码不一致。"))])


class EmployerRegisterForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(_l("请输入单位名称。")), Length(max=200)])
    uscc = StringField(_l("统一社会信用代码"), validators=[DataRequired(_l("请输入统一社会信用代码。"))])
    district = SelectField(_l("所在区（旗县）"), choices=[])
    employer_kind = SelectField(_l("单位性质"), choices=[])
    tier = SelectField(_l("单位层级"), choices=[], default="county")
    parent_id = SelectField(_l("上级主管部门"), choices=[], validate_choice=False)
    # CF-GROUP-1: honours that put the unit's staff in a review group of their own.
    enterprise_flags = SelectMultipleField(_l("企业称号（如有）"), choices=[],
                                           widget=ListWidget(prefix_label=False),
                                           option_widget=CheckboxInput(), validate_choice=False)
    clerk_name = StringField(_l("经办人姓名"), validators=[DataRequired(_l("请输入经办人姓名。")), Length(max=60)])
    clerk_mobile = StringField(_l("经办人手机号（用作登录名）"), validators=[
        DataRequired(_l("请输入手机号码。")), MOBILE])
    password = PasswordField(_l("密码（至少10位）"), validators=[
        DataRequired(_l("请设置密码。")), PasswordPolicy("clerk_mobile")])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码。"))])
    new = PasswordField(_l("新密码（至少10位）"), validators=[
        DataRequired(_l("请设置新密码。")), PasswordPolicy()])
    new2 = PasswordField(_l("再次输入新密码"), validators=[
        EqualTo("new", message=_l("两次输入的密码不一致。"))])
