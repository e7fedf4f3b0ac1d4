from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FilingForm(FlaskForm):
    filed_on = DateField(_l("备案日期"), validators=[DataRequired(_l("请填写备案日期。"))])
    valid_until = DateField(_l("有效期至"), validators=[DataRequired(_l("请填写有效期。"))])
    scope = TextAreaField(_l("评审人员范围"), validators=[Length(max=2000)])
    standard = TextAreaField(_l("评审量化标准（每行“名称|满分”）"), validators=[Length(max=2000)])
    procedure = TextAreaField(_l("评审工作程序"), validators=[Length(max=4000)])
    roster = MultiCheckbox(_l("专家名单"), coerce=int, choices=[], validate_choice=False)


class ExpertForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=60)])
    gender = SelectField(_l("性别"), choices=[("male", _l("男")), ("female", _l("女"))])
    birth_date = DateField(_l("出生日期"), validators=[DataRequired(_l("请填写出生日期。"))])
    title_level = SelectField(_l("职称"), choices=[("associate_senior", _l("副高级")),
                                                  ("senior", _l("正高级"))])
    title_year = IntegerField(_l("取得职称年份"), validators=[
        DataRequired(_l("请填写取得职称年份。")), NumberRange(1960, 2100)])
    series = SelectField(_l("评审系列"), choices=[])
    specialty = SelectField(_l("专业"), choices=[], validate_choice=False)
    employer_name = StringField(_l("工作单位"), validators=[Length(max=200)])
    employer_org_id = SelectField(_l("工作单位（已在本系统注册的）"), coerce=int, choices=[],
                                  validate_choice=False)
    private_sector = BooleanField(_l("民营企业专家"))
    role = SelectField(_l("角色"), choices=[("member", _l("委员")), ("vice_chair", _l("副主任委员")),
                                          ("chair", _l("主任委员"))])
    entry_route = SelectField(_l("入库方式"), choices=[("recommended", _l("组织推荐")),
                                                    ("invited", _l("邀请入库"))])
    recommended_by_org_id = SelectField(_l("推荐单位"), coerce=int, choices=[],
                                        validate_choice=False)
    term_start = DateField(_l("本届聘期开始"), validators=[DataRequired(_l("请填写聘期开始日期。"))])
    # The tenant's most terms (AE-EXP-4) are checked by the service, with its figure.
    terms = IntegerField(_l("第几届聘期"), default=1, validators=[NumberRange(1, 10)])
    username = StringField(_l("登录名（手机号）"), validators=[Optional(), Length(max=60)])


class SessionForm(FlaskForm):
    committee = SelectField(_l("评委会"), coerce=int, choices=[])
    plan = SelectField(_l("申报计划"), coerce=int, choices=[])
    series = SelectField(_l("系列"), choices=[])
    level = SelectField(_l("级别"), choices=[])
    panel_size = IntegerField(_l("评委人数"), default=9, validators=[NumberRange(3, 45)])
    held_on = DateField(_l("评审日期"), validators=[DataRequired(_l("请填写评审日期。"))])
