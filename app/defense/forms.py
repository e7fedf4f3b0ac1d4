from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange

from ..workflow.defense import MAX_CAPACITY, PLACE_MAX


class SlotForm(FlaskForm):
    starts_at = DateTimeLocalField(_l("答辩时间（北京时间）"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired(_l("请填写答辩时间。"))])
    place = StringField(_l("答辩地点"), validators=[DataRequired(_l("请填写答辩地点。")),
                                                 Length(max=PLACE_MAX)])
    capacity = IntegerField(_l("人数上限"), default=10,
                            validators=[NumberRange(1, MAX_CAPACITY)])
    what_to_bring = TextAreaField(_l("须携带的材料"), validators=[Length(max=2000)])
