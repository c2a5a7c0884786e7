from __future__ import annotations

from flask_wtf import FlaskForm


class ResendForm(FlaskForm):
    """Only the CSRF token: resending changes state."""
