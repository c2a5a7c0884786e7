"""Forms of Innbetaling. Amounts and dates are read by the Norwegian rules in svea_web.rules.parsing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from svea_web.rules.parsing import parse_amount, parse_date


class PaymentFileForm(FlaskForm):
    file = FileField(
        _l("Betalingsfil (OCR giro eller camt.054)"),
        # Banks name these files every which way (OCR.D271126, camt054_...): the content tells the kind.
        validators=[FileRequired(_l("Velg en fil."))],
    )


class NorwegianAmount(StringField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.amount: Decimal | None = None
        if self.data:
            try:
                self.amount = parse_amount(self.data)
            except ValueError as error:
                raise ValueError(str(error)) from None


class NorwegianDate(StringField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.day: date | None = None
        if self.data:
            try:
                self.day = parse_date(self.data)
            except ValueError as error:
                raise ValueError(str(error)) from None


class PaymentForm(FlaskForm):
    """Registrer innbetaling: on one post (full or partial) or on a customer's open posts."""

    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    post_id = IntegerField(validators=[Optional()])
    customer_id = IntegerField(validators=[Optional()])
    paid_on = NorwegianDate(_l("Betalingsdato"), validators=[DataRequired(_l("Skriv betalingsdatoen."))])
    amount = NorwegianAmount(_l("Beløp"), validators=[DataRequired(_l("Skriv beløpet."))])
    text = StringField(_l("Tekst (valgfritt)"), validators=[Optional(), Length(max=200)])

    def validate_amount(self, field: NorwegianAmount) -> None:
        if field.amount is not None and field.amount <= 0:
            raise ValidationError(str(_l("Beløpet må være større enn null.")))

    def validate_customer_id(self, field: IntegerField) -> None:
        if self.post_id.data is None and field.data is None:
            raise ValidationError(str(_l("Velg posten eller kunden innbetalingen gjelder.")))


class MatchForm(FlaskForm):
    post_id = IntegerField(validators=[Optional()])
    customer_id = IntegerField(validators=[Optional()])

    def validate_customer_id(self, field: IntegerField) -> None:
        if self.post_id.data is None and field.data is None:
            raise ValidationError(str(_l("Velg posten eller kunden innbetalingen gjelder.")))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Begrunnelse"), validators=[DataRequired(_l("Skriv en begrunnelse.")), Length(max=500)])


class ConfirmForm(FlaskForm):
    pass
