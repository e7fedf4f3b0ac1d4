from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import DataRequired


class CloseDateForm(FlaskForm):
    closes_on = DateField(_l("新的截止日期"), validators=[DataRequired(_l("请填写新的截止日期。"))])
