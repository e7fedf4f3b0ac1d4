from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..auth.forms import MOBILE, PasswordPolicy


class InviteForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名（最多60字）。")),
                                               Length(max=60)])
    mobile = StringField(_l("手机号码"), validators=[DataRequired(_l("请输入手机号码。")), MOBILE])
    username = StringField(_l("登录名"), validators=[DataRequired(_l("请填写登录名。")),
                                                  Length(max=60)])
    role = SelectField(_l("角色"), choices=[])
    office_admin = BooleanField(_l("本单位账号管理员（可添加、停用本单位账号）"))


class SetupForm(FlaskForm):
    password = PasswordField(_l("密码（至少10位）"), validators=[
        DataRequired(_l("请设置密码。")), PasswordPolicy()])
    password2 = PasswordField(_l("再次输入密码"), validators=[
        EqualTo("password", message=_l("两次输入的密码不一致。"))])
