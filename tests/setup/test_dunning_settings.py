"""Oppsett purre/rente, and its consistency with the level in Oppsett Svea."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from svea_web.extensions import db
from svea_web.setup import services
from svea_web.setup.models import DunningSettings, SveaSettings
from tests.conftest import Firm
from tests.setup.conftest import configure_svea, csrf_token

VALID = {
    "in_app_steps": "2",
    "days_between": "14",
    "fee_enabled": "y",
    "interest_enabled": "y",
    "notice_enabled": "y",
    "min_amount": "1 234,50",
    "offer_after_days": "14",
}


def _save(browser: FlaskClient, **changes: Any) -> Any:
    data = {**VALID, **changes}
    return browser.post("/settings/dunning", data={k: v for k, v in data.items() if v is not None})


def test_defaults_are_no_in_app_dunning_and_offer_after_14_days(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    page = logged_in.get("/settings/dunning").get_data(as_text=True)
    settings = db.session.get(DunningSettings, firm.client.id)
    assert (settings.in_app_steps, settings.days_between, settings.offer_after_days) == (0, 14, 14)
    assert (settings.fee_enabled, settings.interest_enabled, settings.notice_enabled) == (False, False, False)
    assert 'name="offer_after_days"' in page and 'value="14"' in page


def test_valid_settings_are_saved(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    configure_svea(firm.client.id, level="inkasso")

    response = _save(logged_in)

    assert response.status_code == 302
    settings = db.session.get(DunningSettings, firm.client.id)
    assert (settings.in_app_steps, settings.days_between, settings.offer_after_days) == (2, 14, 14)
    assert settings.fee_enabled and settings.interest_enabled and settings.notice_enabled
    assert settings.min_amount == Decimal("1234.50")
    page = logged_in.get("/settings/dunning").get_data(as_text=True)
    assert 'value="1 234,50"' in page.replace("\xa0", " ")
    assert services.setup_problems(firm.client.id) == []


def test_switches_left_out_of_the_form_are_off(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    _save(logged_in, fee_enabled=None, interest_enabled=None, notice_enabled=None, in_app_steps="0")
    settings = db.session.get(DunningSettings, firm.client.id)
    assert not (settings.fee_enabled or settings.interest_enabled or settings.notice_enabled)


INVALID = [
    ("in_app_steps", "-1", "Antall purretrinn må være mellom 0 og 5"),
    ("in_app_steps", "6", "Antall purretrinn må være mellom 0 og 5"),
    ("in_app_steps", "to", "Ikke en gyldig heltallsverdi"),
    ("days_between", "13", "Det må gå minst 14 dager mellom trinnene"),
    ("days_between", "", "Oppgi antall dager"),
    ("min_amount", "-100", "Beløpet kan ikke være negativt"),
    ("min_amount", "hundre", "ugyldig"),
    ("min_amount", "1.234", "tvetydig"),
    ("min_amount", "12,345", "høyst to desimaler"),
    ("min_amount", "", "Oppgi et beløp"),
    ("offer_after_days", "-1", "Antall dager må være mellom 0 og 365"),
    ("offer_after_days", "366", "Antall dager må være mellom 0 og 365"),
]


def test_each_invalid_field_is_refused(app: Flask, firm: Firm, logged_in: FlaskClient, subtests: Any) -> None:
    for field, value, message in INVALID:
        with subtests.test(field=field, value=value):
            response = _save(logged_in, **{field: value})

            assert response.status_code == 400
            assert message in response.get_data(as_text=True)
            assert db.session.get(DunningSettings, firm.client.id).in_app_steps == 0


def test_save_without_csrf_token_is_refused(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    assert browser.post("/settings/dunning", data=VALID).status_code == 400
    token = csrf_token(browser.get("/settings/dunning").get_data(as_text=True))
    assert browser.post("/settings/dunning", data={**VALID, "csrf_token": token}).status_code == 302


def test_a_user_who_is_not_admin_cannot_save(app: Flask, firm: Firm, client: FlaskClient, auth: Any) -> None:
    auth.login(firm.user)
    assert client.post("/settings/dunning", data=VALID).status_code == 403


# --- consistency with Oppsett Svea ----------------------------------------------------------------


def test_purring_level_with_in_app_reminders_is_a_problem_the_page_explains(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    configure_svea(firm.client.id, level="purring")
    _save(logged_in)

    problems = services.setup_problems(firm.client.id)
    assert len(problems) == 2
    assert "2 purretrinn i appen" in problems[0] and "inkassovarsel i appen er slått på" in problems[1]
    for url in ("/settings/dunning", "/settings/svea"):
        page = logged_in.get(url).get_data(as_text=True)
        assert "Sakene kan ikke sendes til Svea før dette er rettet" in page
        assert "2 purretrinn i appen" in page
        assert "Slå av purring og inkassovarsel i appen" in page and "Bytt nivå til Inkasso" in page


def test_fix_by_turning_in_app_dunning_off(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    configure_svea(firm.client.id, level="purring")
    _save(logged_in)

    response = logged_in.post("/settings/fix", data={"how": "dunning_off", "back": "dunning"})

    assert response.headers["Location"].endswith("/settings/dunning")
    settings = db.session.get(DunningSettings, firm.client.id)
    assert settings.in_app_steps == 0 and not settings.notice_enabled
    assert db.session.get(SveaSettings, firm.client.id).handover_level == "purring"
    assert services.setup_problems(firm.client.id) == []


def test_fix_by_switching_the_level_to_inkasso(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    configure_svea(firm.client.id, level="purring")
    _save(logged_in)

    response = logged_in.post("/settings/fix", data={"how": "level_inkasso", "back": "svea"})

    assert response.headers["Location"].endswith("/settings/svea")
    assert db.session.get(SveaSettings, firm.client.id).handover_level == "inkasso"
    assert db.session.get(DunningSettings, firm.client.id).in_app_steps == 2
    assert services.setup_problems(firm.client.id) == []


def test_an_unknown_fix_is_refused(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    assert logged_in.post("/settings/fix", data={"how": "alt", "back": "svea"}).status_code == 400


def test_setup_problems_without_svea_settings(app: Flask, firm: Firm) -> None:
    assert services.setup_problems(firm.client.id) == ["Oppsett Svea mangler kundenummer, brukernavn, passord."]


def test_setup_problems_read_in_a_job_without_a_request(app: Flask, firm: Firm) -> None:
    configure_svea(firm.client.id, level="purring")
    services.dunning_settings(firm.client.id).notice_enabled = True
    db.session.commit()
    assert services.setup_problems(firm.client.id) == [
        "Nivå Purring: Svea sender inkassovarselet, men inkassovarsel i appen er slått på. Slå det av."
    ]


@pytest.mark.all_backends
def test_settings_are_made_once_per_firm(app: Flask, firm: Firm) -> None:
    first = services.dunning_settings(firm.client.id)
    db.session.commit()
    assert services.dunning_settings(firm.client.id) is first
    assert services.svea_settings(firm.client.id).handover_level == "purring"
