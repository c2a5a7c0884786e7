from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired


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
