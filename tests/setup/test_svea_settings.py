"""Oppsett Svea: the form, the password encrypted at rest, the KID length check, Test connection."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from svea_web.crypto import decrypt_secret
from svea_web.extensions import db
from svea_web.sandbox.testing import running_sandbox
from svea_web.setup import services
from svea_web.setup.models import SveaSettings
from tests import factories
from tests.conftest import Firm
from tests.mail.smtp import closed_port
from tests.setup.conftest import DEMO_CUSTOMER_NO, DEMO_PASSWORD, DEMO_USERNAME, configure_svea, csrf_token

HX = {"HX-Request": "true"}
VALID = {
    "customer_no": DEMO_CUSTOMER_NO,
    "username": DEMO_USERNAME,
    "password": DEMO_PASSWORD,
    "handover_level": "inkasso",
    "kid_length": "25",
    "group_by_customer": "y",
}


def _save(browser: FlaskClient, **changes: Any) -> Any:
    data = {**VALID, **changes}
    return browser.post("/settings/svea", data={k: v for k, v in data.items() if v is not None})


def test_saved_settings_are_shown_and_the_password_never_is(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    response = _save(logged_in)
    assert response.status_code == 302

    settings = db.session.get(SveaSettings, firm.client.id)
    assert (
        settings.customer_no,
        settings.username,
        settings.handover_level,
        settings.kid_length,
        settings.group_by_customer,
    ) == (
        "10042",
        "demo-regnskap",
        "inkasso",
        25,
        True,
    )
    assert settings.has_agreement
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert 'value="10042"' in page and 'value="demo-regnskap"' in page
    assert DEMO_PASSWORD not in page
    assert "Et passord er lagret (kryptert)" in page


@pytest.mark.all_backends
def test_the_password_is_encrypted_in_the_database_row(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    _save(logged_in)

    row = (
        db.session.execute(text("SELECT * FROM svea_settings WHERE client_id = :id"), {"id": firm.client.id})
        .mappings()
        .one()
    )
    raw = " ".join(str(value) for value in row.values())
    assert DEMO_PASSWORD not in raw
    assert decrypt_secret(row["password_encrypted"]) == DEMO_PASSWORD
    audit = db.session.execute(text("SELECT detail FROM audit_event")).scalars().all()
    assert not any(DEMO_PASSWORD in (detail or "") for detail in audit)


def test_an_empty_password_field_keeps_the_stored_password(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    _save(logged_in)
    before = db.session.get(SveaSettings, firm.client.id).password_encrypted

    assert _save(logged_in, password="", username="nytt-navn").status_code == 302

    settings = db.session.get(SveaSettings, firm.client.id)
    assert settings.username == "nytt-navn" and settings.password_encrypted == before


def test_a_new_password_replaces_the_stored_one(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    _save(logged_in)
    _save(logged_in, password="nytt-passord-1")
    assert decrypt_secret(db.session.get(SveaSettings, firm.client.id).password_encrypted) == "nytt-passord-1"


INVALID = [
    ("customer_no", "", "Feltet må fylles ut"),
    ("customer_no", "100 42", "Kundenummeret har bare bokstaver"),
    ("username", "", "Feltet må fylles ut"),
    ("password", "", "Skriv inn passordet fra Svea"),
    ("handover_level", None, "Velg nivå"),
    ("handover_level", "alt", "Ikke et gyldig valg"),
    ("kid_length", "1", "KID-lengden må være mellom 2 og 25"),
    ("kid_length", "26", "KID-lengden må være mellom 2 og 25"),
    ("kid_length", "tjue", "Ikke en gyldig heltallsverdi"),
]


def test_each_invalid_field_is_refused(app: Flask, firm: Firm, logged_in: FlaskClient, subtests: Any) -> None:
    for field, value, message in INVALID:
        with subtests.test(field=field, value=value):
            response = _save(logged_in, **{field: value})

            assert response.status_code == 400
            assert message in response.get_data(as_text=True)
            settings = db.session.get(SveaSettings, firm.client.id)
            assert settings is None or settings.password_encrypted is None


def test_save_without_csrf_token_is_refused(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    assert browser.post("/settings/svea", data=VALID).status_code == 400
    with csrf_app.app_context():
        assert db.session.query(SveaSettings).filter(SveaSettings.customer_no.is_not(None)).count() == 0

    token = csrf_token(browser.get("/settings/svea").get_data(as_text=True))
    assert browser.post("/settings/svea", data={**VALID, "csrf_token": token}).status_code == 302


def test_a_user_who_is_not_admin_sees_the_settings_but_cannot_change_them(
    app: Flask, firm: Firm, client: FlaskClient, auth: Any
) -> None:
    configure_svea(firm.client.id)
    auth.login(firm.user)

    page = client.get("/settings/svea").get_data(as_text=True)
    assert 'value="10042"' in page and "<fieldset disabled" in page
    assert client.post("/settings/svea", data=VALID).status_code == 403
    assert client.post("/settings/svea/test", headers=HX).status_code == 403


def test_rotating_the_key_keeps_the_password_readable(app: Flask, firm: Firm) -> None:
    configure_svea(firm.client.id)
    old_key = app.config["ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    app.config["ENCRYPTION_KEYS"] = f"{new_key},{old_key}"

    result = app.test_cli_runner().invoke(args=["setup", "rotate-secrets"])

    assert result.exit_code == 0 and "re-encrypted 1" in result.output
    app.config["ENCRYPTION_KEYS"] = new_key
    db.session.expire_all()
    assert decrypt_secret(db.session.get(SveaSettings, firm.client.id).password_encrypted) == DEMO_PASSWORD


def test_a_password_under_a_lost_key_is_a_setup_problem(app: Flask, firm: Firm) -> None:
    configure_svea(firm.client.id)
    app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()

    assert any("kan ikke leses" in p for p in services.setup_problems(firm.client.id))
    with pytest.raises(services.SveaNotConfigured):
        services.svea_client_for(firm.client.id)


# --- svea_client_for ------------------------------------------------------------------------------


def test_svea_client_for_uses_the_stored_credentials_and_the_deployment_url(app: Flask, firm: Firm) -> None:
    configure_svea(firm.client.id)
    client = services.svea_client_for(firm.client.id)
    assert (client.base_url, client.customer_no, client.username) == (
        app.config["SVEA_BASE_URL"],
        "10042",
        "demo-regnskap",
    )

    db.session.get(SveaSettings, firm.client.id).base_url = "http://127.0.0.1:9/"
    db.session.commit()
    assert services.svea_client_for(firm.client.id).base_url == "http://127.0.0.1:9"


def test_svea_client_for_an_unconfigured_firm_says_what_is_missing(app: Flask, firm: Firm) -> None:
    with pytest.raises(services.SveaNotConfigured, match="kundenummer, brukernavn, passord"):
        services.svea_client_for(firm.client.id)


# --- KID length -----------------------------------------------------------------------------------


@pytest.mark.all_backends
def test_kid_check_warns_about_longer_kids_and_shows_the_padding(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    customer = factories.customer(firm.client.id)
    factories.post(customer, kid="0001234567897")  # 13 digits, leading zeros kept
    factories.post(customer, kid="12344")
    db.session.commit()
    configure_svea(firm.client.id, kid_length=10)

    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert "1 post har KID lengre enn 10 siffer (den lengste har 13)" in page
    assert "<code>12344</code> → <code>0000012344</code>" in page

    fragment = logged_in.get("/settings/svea/kid-check?kid_length=15", headers=HX).get_data(as_text=True)
    assert "lengre enn" not in fragment
    assert "<code>0001234567897</code> → <code>000001234567897</code>" in fragment


def test_saving_a_too_short_kid_length_warns(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    factories.post(factories.customer(firm.client.id), kid="12345678903")
    db.session.commit()
    response = _save(logged_in, kid_length="6")
    assert response.status_code == 302
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert "1 post har KID lengre enn 6 siffer og kan ikke sendes til Svea slik" in page


def test_group_posts_shows_the_recommendation_and_warns_with_level_purring(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert "ikke med nivå Purring; kan brukes med nivå Inkasso" in page

    _save(logged_in, handover_level="purring", group_by_customer="y")
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert "Svea anbefaler ikke Gruppere poster når Svea skal kjøre purring" in page
    assert services.setup_problems(firm.client.id) == []


# --- Test connection against the sandbox ---------------------------------------------------------


def test_connection_ok_against_the_sandbox(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    with running_sandbox() as sandbox:
        configure_svea(firm.client.id)
        app.config["SVEA_BASE_URL"] = sandbox.url
        fragment = logged_in.post("/settings/svea/test", headers=HX).get_data(as_text=True)
    assert "flash-success" in fragment and "Tilkoblingen virker" in fragment and "10042" in fragment


def test_connection_with_a_wrong_password_says_svea_refused(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    with running_sandbox() as sandbox:
        configure_svea(firm.client.id, new_password="feil-passord")
        app.config["SVEA_BASE_URL"] = sandbox.url
        fragment = logged_in.post("/settings/svea/test", headers=HX).get_data(as_text=True)
    assert "flash-error" in fragment
    assert "Svea avviste kundenummer, brukernavn eller passord (HTTP 401)" in fragment
    assert "feil-passord" not in fragment


def test_connection_to_a_sandbox_that_is_down(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    configure_svea(firm.client.id)
    app.config["SVEA_BASE_URL"] = f"http://127.0.0.1:{closed_port()}"
    fragment = logged_in.post("/settings/svea/test", headers=HX).get_data(as_text=True)
    assert "Fikk ikke svar fra Svea" in fragment and "no connection to Svea" in fragment


def test_connection_when_the_sandbox_answers_with_errors(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    with running_sandbox() as sandbox:
        configure_svea(firm.client.id)
        app.config["SVEA_BASE_URL"] = sandbox.url
        sandbox.set_faults(once=["error"])
        fragment = logged_in.post("/settings/svea/test", headers=HX).get_data(as_text=True)
    assert "Fikk ikke svar fra Svea" in fragment and "503" in fragment


def test_connection_without_settings_says_what_is_missing(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    fragment = logged_in.post("/settings/svea/test", headers=HX).get_data(as_text=True)
    assert "Oppsett Svea mangler kundenummer, brukernavn, passord" in fragment


def test_connection_without_htmx_flashes_the_result(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    response = logged_in.post("/settings/svea/test", follow_redirects=True)
    assert "Oppsett Svea mangler" in response.get_data(as_text=True)
