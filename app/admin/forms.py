from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget


class CloseDateForm(FlaskForm):
    closes_on = DateField(_l("新的截止日期"), validators=[DataRequired(_l("请填写新的截止日期。"))])


class OrgForm(FlaskForm):
    """A unit of the tree; on editing, code, kind and place are shown, not changed here."""
    kind = SelectField(_l("机构类别"), choices=[])
    code = StringField(_l("机构代码"), validators=[Length(max=60)])
    name = StringField(_l("机构名称"), validators=[DataRequired(_l("请填写机构名称。")),
                                                 Length(max=200)])
    name_en = StringField(_l("英文名称"), validators=[Length(max=200)])
    tier = SelectField(_l("层级"), choices=[])
    district = SelectField(_l("所在区（旗县）"), choices=[], validate_choice=False)
    parent_id = SelectField(_l("上级主管部门"), choices=[], validate_choice=False)
    employer_kind = SelectField(_l("单位性质（用人单位）"), choices=[], validate_choice=False)
    uscc = StringField(_l("统一社会信用代码"), validators=[Length(max=30)])
    series = SelectMultipleField(_l("主管系列（主管部门）"), choices=[],
                                 widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput(), validate_choice=False)


class MoveForm(FlaskForm):
    district = SelectField(_l("所在区（旗县）"), choices=[], validate_choice=False)
    parent_id = SelectField(_l("上级主管部门"), choices=[], validate_choice=False)


class CloseForm(FlaskForm):
    reason = StringField(_l("撤销理由"), validators=[DataRequired(_l("请填写撤销理由。")),
                                                 Length(max=500)])


class ApprovalForm(FlaskForm):
    """Corrections the territorial bureau may make before approving a registration."""
    district = SelectField(_l("所在区（旗县）"), choices=[], validate_choice=False)
    tier = SelectField(_l("单位层级"), choices=[], validate_choice=False)
    parent_id = SelectField(_l("上级主管部门"), choices=[], validate_choice=False)
    employer_kind = SelectField(_l("单位性质"), choices=[], validate_choice=False)


class EditOrgForm(OrgForm):
    kind = None  # set at creation, not edited
    code = None
