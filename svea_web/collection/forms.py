"""Forms of Inkassosaker. Each carries the CSRF token; marked rows come as the check boxes' "row" values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from svea_web.collection.services import CLOSE_REASONS


class ActionForm(FlaskForm):
    """A button that changes something (create cases, retry, sync): only the CSRF token."""


class MessageForm(FlaskForm):
    text = TextAreaField(
        _l("Melding til saksbehandler"),
        validators=[DataRequired(_l("Skriv en melding først.")), Length(max=4000, message=_l("Høyst 4000 tegn."))],
    )


class CloseForm(FlaskForm):
    reason = SelectField(
        _l("Årsak"),
        choices=[SelectChoice(value, label) for value, label in CLOSE_REASONS],
        validators=[DataRequired(_l("Velg en årsak."))],
    )
