from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class FeeWindowForm(FlaskForm):
    committee = SelectField(_l("评委会"), coerce=int, choices=[])
    plan = SelectField(_l("申报计划"), coerce=int, choices=[])
    opens_on = DateField(_l("缴费开始日期"), validators=[DataRequired(_l("请填写缴费开始日期。"))])
    closes_on = DateField(_l("缴费截止日期"), validators=[DataRequired(_l("请填写缴费截止日期。"))])
    # Typed in yuan (e.g. 350.00) and stored in fen by the service.
    amount = StringField(_l("缴费金额（元）"), validators=[
        DataRequired(_l("请填写缴费金额（元）。")), Length(max=12)])
    instructions = TextAreaField(_l("银行转账说明（收款单位、账号、附言要求）"),
                                 validators=[Length(max=2000)])
