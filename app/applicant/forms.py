from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class NewApplicationForm(FlaskForm):
    # The plan and committee offered are checked again, with the reason, by the service
    # (applications.create_application): a committee a person is not offered, posted anyway,
    # is refused with why (SR-SCOPE-1) and kept for the city HR bureau (SR-SUPERV-1).
    plan = SelectField(_l("申报计划"), coerce=int, choices=[], validate_choice=False)
    committee = SelectField(_l("评审委员会（名录）"), coerce=int, choices=[],
                            validate_choice=False)
    series = SelectField(_l("系列"), choices=[])
    specialty = SelectField(_l("专业"), choices=[])
    level = SelectField(_l("申报级别"), choices=[])


class BasicForm(FlaskForm):
    gender = SelectField(_l("性别"), choices=[("", "—"), ("male", _l("男")), ("female", _l("女"))],
                         validate_choice=False)
    birth_date = DateField(_l("出生日期"), validators=[Optional()],
                           render_kw={"placeholder": "1985-06-15"})
    current_title = StringField(_l("现职称（如有）"), validators=[Length(max=200)])
    poge = BooleanField(_l("破格申报（不具备规定学历、资历，业绩显著）"))
    poge_recommenders = StringField(_l("破格推荐专家姓名（正高级，逗号分隔）"),
                                    validators=[Length(max=200)])
    exam_passed = BooleanField(_l("已通过相应的全国统一考试"))
    exam_year = IntegerField(_l("考试成绩合格年份（考评结合系列）"), validators=[Optional()],
                             render_kw={"placeholder": "2025"})
    intl_qualification = SelectField(_l("对应职称的职业资格（如有）"), choices=[], validate_choice=False)
    classified = BooleanField(_l("涉密人员（只能参加线下纸质评审）"))
    # The preferential policy applied under (CF-POL-1…7); "" is the ordinary rules.
    policy = SelectField(_l("申报政策"), choices=[], validate_choice=False)
    current_level = SelectField(_l("现职称级别"), choices=[], validate_choice=False)
    title_on = DateField(_l("取得现职称日期"), validators=[Optional()],
                         render_kw={"placeholder": "2018-12-31"})
    township_months = IntegerField(_l("本年度服务苏木乡镇、嘎查村累计月数"), validators=[Optional()])
    # Freelancers (BJ-SCOPE-3): the field of work and since when in the tenant's area.
    freelance_field = SelectField(_l("从事的专业领域（自由职业者）"), choices=[],
                                  validate_choice=False)
    freelance_since = DateField(_l("在京从事自由职业的起始日期"), validators=[Optional()],
                                render_kw={"placeholder": "2024-05-01"})
    # SR-SCOPE-1: a self-review unit's applicant declares social insurance paid in the city; the
    # label is the tenant's (unit_scope.insurance_label).
    local_insurance = BooleanField()
    township_years = IntegerField(_l("取得现职称后累计服务苏木乡镇、嘎查村年限（年）"),
                                  validators=[Optional()])


class UploadForm(FlaskForm):
    material = SelectField(_l("材料类型"), choices=[])
    scan = FileField(_l("扫描件（PDF/JPEG/PNG）"))


CONFLICT_KINDS = [("relative", _l("近亲属关系")), ("interest", _l("利益关系")),
                  ("dispute", _l("存在纠纷尚未解决")), ("other", _l("其他可能影响公正的因素"))]


class ConflictForm(FlaskForm):
    """An expert the applicant asks to be kept off the panel for their file (AE-RECUSE-1)."""
    expert_name = StringField(_l("专家姓名"), validators=[
        DataRequired(message=_l("请填写专家姓名。")), Length(max=60)])
    kind = SelectField(_l("回避事由"), choices=CONFLICT_KINDS)
    note = TextAreaField(_l("说明（选填）"), validators=[Length(max=500)])
