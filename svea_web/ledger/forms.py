from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import fodselsnummer
from wtforms import Field, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp, ValidationError

from svea_web.ledger.models import KIND_COMPANY, KIND_PERSON
from svea_web.setup.forms import INVALID_EMAIL, REQUIRED, OrgNo, Phone, _compact, _strip


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV-fil"),
        validators=[
            FileRequired(_l("Velg en fil.")),
            FileAllowed(["csv", "txt"], _l("Filen må være en CSV-fil (.csv eller .txt).")),
        ],
    )


class ConfirmImportForm(FlaskForm):
    pass


class NationalId:
    """A Norwegian fødselsnummer or D-number (11 digits, two check digits), by python-stdnum."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not field.data:
            return
        try:
            field.data = fodselsnummer.validate(field.data)
        except StdnumError:
            raise ValidationError(_l("Ugyldig fødselsnummer: 11 siffer med riktige kontrollsiffer.")) from None


class CustomerForm(FlaskForm):
    """A customer's details, as Svea needs them for a case (the customer number stays the ledger's key)."""

    name = StringField(_l("Navn"), filters=[_strip], validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = RadioField(
        _l("Type"),
        choices=[SelectChoice(KIND_PERSON, _l("Person")), SelectChoice(KIND_COMPANY, _l("Bedrift"))],
        validators=[InputRequired(REQUIRED)],
    )
    org_no = StringField(_l("Organisasjonsnummer"), filters=[_compact], validators=[Optional(), OrgNo()])
    national_id = StringField(
        _l("Fødselsnummer"),
        filters=[_compact],
        validators=[Optional(), NationalId()],
        render_kw={"autocomplete": "off", "inputmode": "numeric"},
    )
    address = StringField(_l("Adresse"), filters=[_strip], validators=[Optional(), Length(max=200)])
    postcode = StringField(
        _l("Postnummer"),
        filters=[_strip],
        validators=[Optional(), Regexp(r"^[0-9]{4}$", message=_l("Postnummer er fire siffer."))],
    )
    city = StringField(_l("Poststed"), filters=[_strip], validators=[Optional(), Length(max=100)])
    email = StringField(_l("E-post"), filters=[_strip], validators=[Optional(), Email(INVALID_EMAIL), Length(max=254)])
    phone = StringField(_l("Telefon"), filters=[_compact], validators=[Optional(), Phone()])
