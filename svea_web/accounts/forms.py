from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-post"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField(_l("Passord"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class SwitchClientForm(FlaskForm):
    client_id = HiddenField(validators=[DataRequired()])
