"""Forms of the expert pool: a nomination, the expert's own update."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

TITLE_LEVELS = [("associate_senior", _l("副高级")), ("senior", _l("正高级"))]


class NominationForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名。")), Length(max=60)])
    gender = SelectField(_l("性别"), choices=[("male", _l("男")), ("female", _l("女"))])
    id_number = StringField(_l("身份证号码"), validators=[DataRequired(_l("请填写身份证号码。")),
                                                     Length(max=30)])
    birth_date = DateField(_l("出生日期"), validators=[DataRequired(_l("请填写出生日期。"))])
    title_level = SelectField(_l("职称"), choices=TITLE_LEVELS)
    title_year = IntegerField(_l("取得职称年份"), validators=[
        DataRequired(_l("请填写取得职称年份。")), NumberRange(1960, 2100)])
    series = SelectField(_l("评审系列"), choices=[], validate_choice=False)
    specialty = SelectField(_l("专业"), choices=[], validate_choice=False)
    employer_org_id = SelectField(_l("工作单位（已在本系统注册的）"), coerce=int, choices=[],
                                  validate_choice=False)
    employer_name = StringField(_l("工作单位（未注册的，仅邀请入库）"), validators=[Length(max=200)])
    mobile = StringField(_l("手机号码"), validators=[DataRequired(_l("请填写手机号码。")),
                                                 Length(max=20)])
    agency_org_id = SelectField(_l("负责审核的评审服务机构"), coerce=int, choices=[],
                                validate_choice=False)


class ProfileForm(FlaskForm):
    title_level = SelectField(_l("职称"), choices=TITLE_LEVELS)
    title_year = IntegerField(_l("取得职称年份"), validators=[
        DataRequired(_l("请填写取得职称年份。")), NumberRange(1960, 2100)])
    series = SelectField(_l("评审系列"), choices=[], validate_choice=False)
    specialty = SelectField(_l("专业"), choices=[], validate_choice=False)
    employer_org_id = SelectField(_l("工作单位（已在本系统注册的）"), coerce=int, choices=[],
                                  validate_choice=False)
    employer_name = StringField(_l("工作单位（未注册的）"), validators=[Length(max=200)])
    mobile = StringField(_l("新手机号码（不变则留空）"), validators=[Optional(), Length(max=20)])
    available = BooleanField(_l("可以参加评审"))
