from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..workflow.certificates import REVOKE_LABELS


class QueryForm(FlaskForm):
    """Anyone checks a certificate by its number and the holder's full name (BJ23-VERIFY-1)."""
    number = StringField(_l("证书编号"), validators=[DataRequired(), Length(max=40)],
                         render_kw={"placeholder": "BJ2026-7K3QH2M9XA", "autocomplete": "off"})
    name = StringField(_l("持证人姓名（全名）"), validators=[DataRequired(), Length(max=60)])


class RevokeForm(FlaskForm):
    """The issuing office revokes a title obtained by fraud (BJ-INTEG-1, CF-INTEG-1)."""
    kind = SelectField(_l("撤销原因"), choices=[(k, v) for k, v in REVOKE_LABELS.items()])
    opinion = TextAreaField(_l("经核实的违规事实"), validators=[DataRequired(), Length(max=2000)])
    # 四(一): only a serious case bars new applications while the record runs.
    serious = BooleanField(_l("情节严重（记录期内不得申报职称评审）"))
    version = HiddenField()
