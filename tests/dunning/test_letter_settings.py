"""Saving the letters' payment details returns to a page of this site, never to another site."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from svea_web.dunning.models import LetterSettings
from svea_web.extensions import db
from tests.conftest import Firm


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\t/evil.example/", "javascript:alert(1)"],
)
def test_saving_the_letter_settings_never_redirects_to_another_site(
    logged_in: FlaskClient, inkasso_firm: Firm, next_url: str
) -> None:
    response = logged_in.post("/dunning/settings", data={"account_no": "8601.11.17947", "next": next_url})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dunning/"
    settings = db.session.get(LetterSettings, inkasso_firm.client.id)
    assert settings is not None and settings.account_no == "86011117947"


def test_saving_the_letter_settings_returns_to_the_page_it_came_from(
    logged_in: FlaskClient, inkasso_firm: Firm
) -> None:
    response = logged_in.post(
        "/dunning/settings", data={"account_no": "8601.11.17947", "next": "/dunning/runs/7?tab=steps"}
    )
    assert response.headers["Location"] == "/dunning/runs/7?tab=steps"
