"""An administrator corrects a customer's details (what Svea needs for a case) on the customer's page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from svea_web.accounts.models import AuditEvent
from svea_web.extensions import db
from svea_web.ledger.models import Customer
from tests import factories

VALID_FNR = "01017010170"  # born 01.01.1970; both check digits worked out by the MOD11 weights


def edit(client: Any, customer: Customer, **changes: str) -> Any:
    data = {
        "name": customer.name,
        "kind": customer.kind,
        "org_no": customer.org_no or "",
        "national_id": "",
        "address": customer.address or "",
        "postcode": customer.postcode or "",
        "city": customer.city or "",
        "email": customer.email or "",
        "phone": customer.phone or "",
        **changes,
    }
    return client.post(f"/ledger/customers/{customer.id}/edit", data=data)


@pytest.mark.all_backends
def test_an_admin_adds_the_missing_national_id_and_address_svea_needs(logged_in: Any, firm: Any) -> None:
    kari = factories.customer(firm.client.id, "Kari Nordmann")
    db.session.commit()
    page = logged_in.get(f"/ledger/customers/{kari.id}").get_data(as_text=True)
    assert f'href="/ledger/customers/{kari.id}/edit"' in page

    response = edit(logged_in, kari, national_id="010170 10170", address="Storgata 1", postcode="0155", city="Oslo")

    assert response.status_code == 302
    saved = db.session.get_one(Customer, kari.id)
    db.session.refresh(saved)
    assert (saved.national_id, saved.address, saved.postcode, saved.city) == (VALID_FNR, "Storgata 1", "0155", "Oslo")
    shown = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kundeopplysningene er lagret." in shown
    assert VALID_FNR not in shown  # shown masked only
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "ledger.customer_saved"))
    assert event is not None and str(event.object_id) == str(kari.id)
    assert VALID_FNR not in (event.detail or "")
    # The form never sends the stored number back, and a blank field keeps it.
    form = logged_in.get(f"/ledger/customers/{kari.id}/edit").get_data(as_text=True)
    assert VALID_FNR not in form
    edit(logged_in, saved, phone="+4791234567")
    db.session.refresh(saved)
    assert saved.national_id == VALID_FNR and saved.phone == "+4791234567"


def test_bad_details_are_refused_with_a_reason_and_nothing_is_saved(logged_in: Any, firm: Any) -> None:
    bygg = factories.customer(firm.client.id, "Fjord Bygg AS", kind="company")
    db.session.commit()

    response = edit(logged_in, bygg, org_no="123456789", national_id="12345678901", postcode="12", name="")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ugyldig organisasjonsnummer" in page
    assert "Ugyldig fødselsnummer" in page
    assert "Postnummer er fire siffer." in page
    db.session.refresh(bygg)
    assert (bygg.name, bygg.org_no, bygg.national_id) == ("Fjord Bygg AS", None, None)


def test_a_user_may_not_edit_and_another_firms_customer_is_not_found(
    client: Any, auth: Any, firm: Any, make_firm: Any
) -> None:
    ours = factories.customer(firm.client.id, "Kari Nordmann")
    theirs = factories.customer(make_firm("Annen AS").client.id, "Fremmed Kunde")
    db.session.commit()
    auth.login(firm.user)
    assert client.get(f"/ledger/customers/{ours.id}/edit").status_code == 403
    assert f"/ledger/customers/{ours.id}/edit" not in client.get(f"/ledger/customers/{ours.id}").get_data(as_text=True)
    auth.logout()
    auth.login(firm.admin)
    assert client.get(f"/ledger/customers/{theirs.id}/edit").status_code == 404
    assert edit(client, theirs, name="Kapret").status_code == 404
    db.session.refresh(theirs)
    assert theirs.name == "Fremmed Kunde"
