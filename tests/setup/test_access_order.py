"""Bestill Svea tilgang: the dialog, the e-mail to the agency over a real SMTP server, its state."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from svea_web.accounts.models import Client
from svea_web.extensions import db
from svea_web.mail.models import OutgoingMail
from svea_web.setup.models import AccessOrder
from tests.conftest import Firm
from tests.mail.smtp import SmtpServer, running_smtp_server
from tests.setup.conftest import configure_svea, csrf_token

HX = {"HX-Request": "true"}

VALID = {
    "request_token": "tok-" + "a" * 24,
    "name": "Nordlys Rørlegger AS",
    "org_no": "923 609 016",
    "address": "Storgata 12",
    "postcode": "2317",
    "city": "Hamar",
    "contact_name": "Kari Nordmann",
    "contact_email": "kari@nordlys.no",
    "contact_phone": "+47 912 34 567",
    "agreement_read": "y",
}


def _order(browser: FlaskClient, **changes: Any) -> Any:
    data = {**VALID, **changes}
    return browser.post("/settings/svea/order", data={k: v for k, v in data.items() if v is not None}, headers=HX)


def test_the_button_opens_a_dialog_filled_with_the_firms_details(
    app: Flask, firm: Firm, logged_in: FlaskClient
) -> None:
    firm.client.org_no, firm.client.address, firm.client.postcode, firm.client.city = (
        "923609016",
        "Storgata 12",
        "2317",
        "Hamar",
    )
    db.session.commit()
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert "Bestill Svea tilgang" in page and 'hx-get="/settings/svea/order"' in page

    dialog = logged_in.get("/settings/svea/order", headers=HX).get_data(as_text=True)

    assert dialog.lstrip().startswith("<dialog")
    for value in ("Nordlys Rørlegger AS", "923609016", "Storgata 12", "2317", "Hamar", firm.admin.email):
        assert f'value="{value}"' in dialog
    assert 'name="agreement_read"' in dialog and "checked" not in dialog
    assert "Avtale om purre- og inkassotjenester" in dialog


def test_bestill_sends_the_agency_an_email_with_every_detail(
    app: Flask, firm: Firm, logged_in: FlaskClient, smtp: SmtpServer
) -> None:
    response = _order(logged_in)

    assert response.status_code == 200
    assert len(smtp.messages) == 1
    received = smtp.messages[0]
    assert received.rcpt_tos == ["hamar@sveafinans.no"]
    assert received.message["Reply-To"] == "kari@nordlys.no"
    assert "Nordlys Rørlegger AS" in received.message["Subject"]
    body = received.message.get_body(("plain",)).get_content()
    for text in (
        "Nordlys Rørlegger AS",
        "923 609 016",
        "Storgata 12",
        "2317 Hamar",
        "Kari Nordmann",
        "kari@nordlys.no",
        "+4791234567",
        "bekrefter å ha lest",
        firm.admin.email,
    ):
        assert text in body, text
    order = db.session.query(AccessOrder).one()
    assert order.agreement_accepted_at is not None and order.mail.state == "sent"
    fragment = response.get_data(as_text=True)
    assert 'id="agreement"' in fragment and "<dialog" not in fragment
    assert 'data-mail-state="sent"' in fragment and "Bestilling av avtale" in fragment


def test_the_agency_address_is_configurable(app: Flask, firm: Firm, logged_in: FlaskClient, smtp: SmtpServer) -> None:
    app.config["SVEA_AGENCY_EMAIL"] = "inkasso@svea.example"
    _order(logged_in)
    assert smtp.messages[0].rcpt_tos == ["inkasso@svea.example"]


def test_the_order_also_becomes_the_firms_details(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    _order(logged_in)
    client = db.session.get(Client, firm.client.id)
    assert (client.org_no, client.address, client.postcode, client.city) == (
        "923609016",
        "Storgata 12",
        "2317",
        "Hamar",
    )


@pytest.mark.all_backends
def test_a_double_click_sends_one_email(app: Flask, firm: Firm, logged_in: FlaskClient, smtp: SmtpServer) -> None:
    _order(logged_in)
    second = _order(logged_in)

    assert second.status_code == 200
    assert db.session.query(AccessOrder).count() == 1
    assert db.session.query(OutgoingMail).count() == 1
    assert len(smtp.messages) == 1


def test_without_an_smtp_server_the_mail_waits_in_the_outbox(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    fragment = _order(logged_in).get_data(as_text=True)

    mail = db.session.query(OutgoingMail).one()
    assert mail.state == "outbox"
    assert 'data-mail-state="outbox"' in fragment and f"/mail/outbox/{mail.id}" in fragment
    assert "Storgata 12" in logged_in.get(f"/mail/outbox/{mail.id}").get_data(as_text=True)


def test_smtp_down_shows_the_error_keeps_the_order_and_resend_sends_it(
    app: Flask, firm: Firm, logged_in: FlaskClient, smtp_down: Any
) -> None:
    fragment = _order(logged_in).get_data(as_text=True)

    order = db.session.query(AccessOrder).one()
    assert order.mail.state == "failed"
    assert 'data-mail-state="failed"' in fragment and "Connection refused" in fragment and "Send på nytt" in fragment
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert "Connection refused" in page

    with running_smtp_server() as server:
        app.config["SMTP_PORT"] = server.port
        fragment = logged_in.post(f"/settings/svea/orders/{order.id}/resend", headers=HX).get_data(as_text=True)
        assert len(server.messages) == 1
    assert 'data-mail-state="sent"' in fragment
    assert db.session.query(AccessOrder).count() == 1


ORDER_INVALID = [
    ("name", "", "Feltet må fylles ut"),
    ("org_no", "923609017", "Ugyldig organisasjonsnummer"),
    ("org_no", "12345", "Ugyldig organisasjonsnummer"),
    ("address", "", "Feltet må fylles ut"),
    ("postcode", "23A7", "Postnummer er fire siffer"),
    ("city", "", "Feltet må fylles ut"),
    ("contact_name", "", "Feltet må fylles ut"),
    ("contact_email", "kari-nordlys.no", "Ugyldig e-postadresse"),
    ("contact_phone", "1234", "Telefonnummeret må ha 8–15 siffer"),
    ("agreement_read", None, "Bekreft at du har lest avtalen"),
]


def test_each_invalid_field_is_refused_with_a_reason(
    app: Flask, firm: Firm, logged_in: FlaskClient, smtp: SmtpServer, subtests: Any
) -> None:
    for field, value, message in ORDER_INVALID:
        with subtests.test(field=field, value=value):
            html = _order(logged_in, **{field: value}).get_data(as_text=True)

            assert message in html
            assert "<dialog" in html and f'id="{field}-error"' in html and 'aria-invalid="true"' in html
            assert db.session.query(AccessOrder).count() == 0 and smtp.messages == []


def test_invalid_order_without_htmx_returns_the_form_with_400(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    response = logged_in.post("/settings/svea/order", data={**VALID, "postcode": "1"})
    assert response.status_code == 400
    assert "Postnummer er fire siffer" in response.get_data(as_text=True)


def test_order_without_htmx_redirects_to_the_svea_page(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    response = logged_in.post("/settings/svea/order", data=VALID)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/svea")


def test_order_without_csrf_token_is_refused(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    assert browser.post("/settings/svea/order", data=VALID, headers=HX).status_code == 400
    with csrf_app.app_context():
        assert db.session.query(AccessOrder).count() == 0

    token = csrf_token(browser.get("/settings/svea/order", headers=HX).get_data(as_text=True))
    accepted = browser.post("/settings/svea/order", data={**VALID, "csrf_token": token}, headers=HX)
    assert accepted.status_code == 200
    with csrf_app.app_context():
        assert db.session.query(AccessOrder).count() == 1


def test_a_user_who_is_not_admin_cannot_order(app: Flask, firm: Firm, client: FlaskClient, auth: Any) -> None:
    auth.login(firm.user)
    assert client.post("/settings/svea/order", data=VALID, headers=HX).status_code == 403
    page = client.get("/settings/svea").get_data(as_text=True)
    assert "Bare administratorer" in page and 'hx-get="/settings/svea/order"' not in page


def test_another_firms_order_cannot_be_resent(
    app: Flask, firm: Firm, make_firm: Any, logged_in: FlaskClient, client: FlaskClient, auth: Any, smtp_down: Any
) -> None:
    _order(logged_in)
    order = db.session.query(AccessOrder).one()
    other = make_firm("Annen AS")
    auth.logout()
    auth.login(other.admin)

    assert client.post(f"/settings/svea/orders/{order.id}/resend", headers=HX).status_code == 404
    assert db.session.get(AccessOrder, order.id).mail.state == "failed"


def test_the_order_list_polls_while_the_mail_is_queued(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    _order(logged_in)
    mail = db.session.query(OutgoingMail).one()
    mail.state = "queued"
    db.session.commit()

    fragment = logged_in.get("/settings/svea/orders", headers=HX).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in fragment

    mail.state = "outbox"
    db.session.commit()
    assert "hx-trigger" not in logged_in.get("/settings/svea/orders", headers=HX).get_data(as_text=True)


# --- a firm with an agreement moves ----------------------------------------------------------------

FIRM = {
    "name": "Nordlys Rørlegger AS",
    "org_no": "923609016",
    "address": "Storgata 12",
    "postcode": "2317",
    "city": "Hamar",
}


def test_moving_with_an_agreement_offers_to_send_svea_the_new_address(
    app: Flask, firm: Firm, logged_in: FlaskClient, smtp: SmtpServer
) -> None:
    logged_in.post("/settings/", data=FIRM)
    configure_svea(firm.client.id)

    response = logged_in.post(
        "/settings/", data={**FIRM, "address": "Torggata 1", "postcode": "2315"}, follow_redirects=True
    )

    assert "Svea Finans må få den nye adressen" in response.get_data(as_text=True)
    page = logged_in.get("/settings/svea").get_data(as_text=True)
    assert 'id="address-notice"' in page and "Send ny adresse til Svea" in page

    dialog = logged_in.get("/settings/svea/address-change", headers=HX).get_data(as_text=True)
    assert "Torggata 1" in dialog
    token = "addr-" + "b" * 24
    data = {
        "request_token": token,
        "contact_name": "Kari Nordmann",
        "contact_email": "kari@nordlys.no",
        "contact_phone": "91234567",
    }
    fragment = logged_in.post("/settings/svea/address-change", data=data, headers=HX).get_data(as_text=True)
    logged_in.post("/settings/svea/address-change", data=data, headers=HX)

    assert len(smtp.messages) == 1
    body = smtp.messages[0].message.get_body(("plain",)).get_content()
    assert "ny firmaadresse" in body and "Torggata 1" in body and "2315 Hamar" in body and "10042" in body
    assert smtp.messages[0].rcpt_tos == ["hamar@sveafinans.no"]
    assert 'id="address-notice"' not in fragment and "Ny adresse" in fragment


def test_moving_without_an_agreement_offers_nothing(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    logged_in.post("/settings/", data=FIRM)
    response = logged_in.post("/settings/", data={**FIRM, "address": "Torggata 1"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Firmaopplysningene er lagret" in html and "address-notice" not in html


def test_the_address_notice_can_be_dismissed(app: Flask, firm: Firm, logged_in: FlaskClient) -> None:
    logged_in.post("/settings/", data=FIRM)
    configure_svea(firm.client.id)
    logged_in.post("/settings/", data={**FIRM, "city": "Stange", "postcode": "2335"})

    logged_in.post("/settings/svea/address-change/dismiss")

    assert "address-notice" not in logged_in.get("/settings/svea").get_data(as_text=True)


FIRM_INVALID = [
    ("name", "", "Feltet må fylles ut"),
    ("org_no", "111111112", "Ugyldig organisasjonsnummer"),
    ("postcode", "99999", "Postnummer er fire siffer"),
    ("email", "ikke en e-post", "Ugyldig e-postadresse"),
    ("phone", "12 34", "Telefonnummeret må ha 8–15 siffer"),
]


def test_firm_form_refuses_each_invalid_field(app: Flask, firm: Firm, logged_in: FlaskClient, subtests: Any) -> None:
    for field, value, message in FIRM_INVALID:
        with subtests.test(field=field, value=value):
            response = logged_in.post("/settings/", data={**FIRM, field: value})
            assert response.status_code == 400
            assert message in response.get_data(as_text=True)
            assert db.session.get(Client, firm.client.id).address is None


def test_firm_form_without_csrf_token_is_refused(csrf_browser: Any) -> None:
    csrf_app, browser = csrf_browser
    assert browser.post("/settings/", data={**FIRM, "address": "Uten token 1"}).status_code == 400
    token = csrf_token(browser.get("/settings/").get_data(as_text=True))
    assert browser.post("/settings/", data={**FIRM, "csrf_token": token}).status_code == 302
    with csrf_app.app_context():
        assert db.session.query(Client).one().address == "Storgata 12"


ADDRESS_INVALID = [
    ("contact_name", "", "Feltet må fylles ut"),
    ("contact_email", "kari(at)nordlys.no", "Ugyldig e-postadresse"),
    ("contact_phone", "9123", "Telefonnummeret må ha 8–15 siffer"),
]


def test_address_change_refuses_each_invalid_field(
    app: Flask, firm: Firm, logged_in: FlaskClient, smtp: SmtpServer, subtests: Any
) -> None:
    valid = {
        "request_token": "c" * 24,
        "contact_name": "Kari",
        "contact_email": "kari@nordlys.no",
        "contact_phone": "91234567",
    }
    for field, value, message in ADDRESS_INVALID:
        with subtests.test(field=field):
            html = logged_in.post("/settings/svea/address-change", data={**valid, field: value}, headers=HX).get_data(
                as_text=True
            )
            assert message in html and "<dialog" in html
            assert db.session.query(AccessOrder).count() == 0 and smtp.messages == []
    response = logged_in.post("/settings/svea/address-change", data={**valid, "contact_phone": "1"})
    assert response.status_code == 400
