"""Forms of the settings pages. Every POST carries the CSRF token (FlaskForm)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import orgnr
from wtforms import BooleanField, EmailField, Field, HiddenField, IntegerField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import TextInput

from svea_web.rules.dunning import MIN_DEADLINE_DAYS
from svea_web.rules.kid import KID_MAX_LENGTH, KID_MIN_LENGTH
from svea_web.rules.parsing import format_amount, format_date, parse_amount, parse_date
from svea_web.setup.models import LEVEL_INKASSO, LEVEL_PURRING
from svea_web.setup.services import FIXES

MAX_IN_APP_STEPS = 5
REQUIRED = _l("Feltet må fylles ut.")
INVALID_EMAIL = _l("Ugyldig e-postadresse.")
MAX_DAYS_BETWEEN = 90
MAX_OFFER_AFTER_DAYS = 365
_PHONE = re.compile(r"\+?[0-9]{8,15}")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _compact(value: Any) -> Any:
    return re.sub(r"[\s.-]", "", value) if isinstance(value, str) else value


class OrgNo:
    """Norwegian organisation number: 9 digits with a MOD11 check digit."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        try:
            field.data = orgnr.validate(field.data or "")
        except StdnumError:
            raise ValidationError(_l("Ugyldig organisasjonsnummer: 9 siffer med riktig kontrollsiffer.")) from None


class Phone:
    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not _PHONE.fullmatch(field.data or ""):
            raise ValidationError(_l("Telefonnummeret må ha 8–15 siffer (gjerne med +47 foran)."))


class AmountField(Field):
    """A Norwegian amount typed as text (1 234,50); ``data`` is a Decimal or None."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_amount(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = parse_amount(str(valuelist[0]))


class DateTextField(Field):
    """A date typed as 31.12.2026 or 2026-12-31; ``data`` is a date or None."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_date(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = parse_date(str(valuelist[0]))


class NotNegative:
    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data is not None and field.data < 0:
            raise ValidationError(_l("Beløpet kan ikke være negativt."))


class _FirmFields(FlaskForm):
    name = StringField(_l("Firmanavn"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=200)])
    org_no = StringField(_l("Organisasjonsnummer"), filters=[_compact], validators=[DataRequired(REQUIRED), OrgNo()])
    address = StringField(_l("Adresse"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=200)])
    postcode = StringField(
        _l("Postnummer"),
        filters=[_strip],
        validators=[DataRequired(REQUIRED), Regexp(r"^[0-9]{4}$", message=_l("Postnummer er fire siffer."))],
    )
    city = StringField(_l("Poststed"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=100)])


class _ContactFields(FlaskForm):
    contact_name = StringField(
        _l("Kontaktperson"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    contact_email = EmailField(
        _l("E-post"),
        filters=[_strip],
        validators=[DataRequired(REQUIRED), Email(INVALID_EMAIL, check_deliverability=False), Length(max=254)],
    )
    contact_phone = StringField(_l("Telefon"), filters=[_compact], validators=[DataRequired(REQUIRED), Phone()])


class FirmForm(_FirmFields):
    email = EmailField(
        _l("E-post til firmaet"),
        filters=[_strip],
        validators=[Optional(), Email(INVALID_EMAIL, check_deliverability=False), Length(max=254)],
    )
    phone = StringField(_l("Telefon"), filters=[_compact], validators=[Optional(), Phone()])


class AccessOrderForm(_FirmFields, _ContactFields):
    # Made when the dialog opens; the same dialog sent twice (a double click) makes one order.
    request_token = HiddenField(validators=[DataRequired(REQUIRED), Length(min=16, max=64)])
    agreement_read = BooleanField(
        _l("Jeg har lest avtalen om purre- og inkassotjenester"),
        validators=[InputRequired(_l("Bekreft at du har lest avtalen."))],
    )


class AddressChangeForm(_ContactFields):
    request_token = HiddenField(validators=[DataRequired(REQUIRED), Length(min=16, max=64)])


class SveaSettingsForm(FlaskForm):
    customer_no = StringField(
        _l("Kundenummer"),
        filters=[_strip],
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^[A-Za-z0-9-]{1,40}$", message=_l("Kundenummeret har bare bokstaver, siffer og bindestrek.")),
        ],
    )
    username = StringField(_l("Brukernavn"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=100)])
    password = PasswordField(_l("Passord"), validators=[Length(max=200)])
    handover_level = RadioField(
        _l("Nivå som sendes Svea"),
        choices=[
            SelectChoice(LEVEL_PURRING, _l("Purring – Svea kjører purring og inkasso")),
            SelectChoice(LEVEL_INKASSO, _l("Inkasso – appen kjører purringene, Svea bare inkasso")),
        ],
        validators=[InputRequired(_l("Velg nivå."))],
    )
    kid_length = IntegerField(
        _l("KID-lengde"),
        validators=[
            InputRequired(_l("Oppgi KID-lengden.")),
            NumberRange(KID_MIN_LENGTH, KID_MAX_LENGTH, message=_l("KID-lengden må være mellom 2 og 25.")),
        ],
    )
    group_by_customer = BooleanField(_l("Gruppere poster (én sak per kunde)"))

    def __init__(self, *args: Any, password_stored: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.password_stored = password_stored

    def validate_password(self, field: Field) -> None:
        if not field.data and not self.password_stored:
            raise ValidationError(_l("Skriv inn passordet fra Svea."))


class DunningSettingsForm(FlaskForm):
    in_app_steps = IntegerField(
        _l("Purretrinn i appen før saken går til Svea"),
        validators=[
            InputRequired(_l("Oppgi antall purretrinn.")),
            NumberRange(0, MAX_IN_APP_STEPS, message=_l("Antall purretrinn må være mellom 0 og 5.")),
        ],
    )
    days_between = IntegerField(
        _l("Dager mellom trinnene"),
        validators=[
            InputRequired(_l("Oppgi antall dager.")),
            NumberRange(
                MIN_DEADLINE_DAYS,
                MAX_DAYS_BETWEEN,
                message=_l("Det må gå minst 14 dager mellom trinnene (inkassoloven), og høyst 90."),
            ),
        ],
    )
    fee_enabled = BooleanField(_l("Purregebyr"))
    interest_enabled = BooleanField(_l("Forsinkelsesrente"))
    notice_enabled = BooleanField(_l("Inkassovarsel i appen"))
    min_amount = AmountField(_l("Minstebeløp"), validators=[InputRequired(_l("Oppgi et beløp.")), NotNegative()])
    offer_after_days = IntegerField(
        _l("Dager før posten tilbys Svea"),
        validators=[
            InputRequired(_l("Oppgi antall dager.")),
            NumberRange(0, MAX_OFFER_AFTER_DAYS, message=_l("Antall dager må være mellom 0 og 365.")),
        ],
    )


class FixForm(FlaskForm):
    how = HiddenField(validators=[AnyOf(FIXES)])
    back = HiddenField(validators=[AnyOf(("svea", "dunning"))])


class FigureEditForm(FlaskForm):
    value = AmountField(_l("Sats"), validators=[InputRequired(_l("Oppgi en sats.")), NotNegative()])


class FigureAddForm(FigureEditForm):
    valid_from = DateTextField(_l("Gjelder fra"), validators=[InputRequired(_l("Oppgi en dato."))])


class ActionForm(FlaskForm):
    """Only the CSRF token: buttons that change something (confirm, delete, resend, dismiss, test)."""
