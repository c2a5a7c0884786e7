from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.no import kontonr
from wtforms import DateField, HiddenField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError


class RunForm(FlaskForm):
    run_date = DateField(_l("Dato for kjøringen"), validators=[DataRequired(_l("Velg en gyldig dato."))])


class ConfirmForm(FlaskForm):
    digest = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class _PauseFields(FlaskForm):
    reason = StringField(
        _l("Årsak"),
        validators=[DataRequired(_l("Skriv en årsak.")), Length(max=200, message=_l("Høyst 200 tegn."))],
    )
    end_date = DateField(_l("Til og med (valgfritt)"), validators=[Optional()])


class PauseCustomerForm(_PauseFields):
    customer_no = StringField(_l("Kundenr"), validators=[DataRequired(_l("Skriv kundenummeret.")), Length(max=40)])


class PausePostForm(_PauseFields):
    invoice_no = StringField(_l("Fakturanr"), validators=[DataRequired(_l("Skriv fakturanummeret.")), Length(max=40)])


class LetterSettingsForm(FlaskForm):
    account_no = StringField(_l("Kontonummer for innbetaling"), validators=[DataRequired(_l("Skriv kontonummeret."))])
    reply_to = StringField(
        _l("Svar-adresse for e-post (valgfritt)"),
        validators=[Optional(), Email(_l("Ugyldig e-postadresse."), check_deliverability=False), Length(max=254)],
    )

    def validate_account_no(self, field: Any) -> None:
        digits = kontonr.compact(field.data or "")
        if not kontonr.is_valid(digits):
            raise ValidationError(_l("Ugyldig kontonummer (11 siffer med kontrollsiffer)."))
        field.data = digits
