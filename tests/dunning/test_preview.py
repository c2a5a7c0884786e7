"""The preview of a run lists each post's step with its figures, and why the other overdue posts get none.

Figures worked by hand for a run on 27.11.2026 (fee 37,50 kr in 2026, late interest 12,00 % a year,
interest = principal x 0.12 x days / 365 from the day after the due date to the run date):
- 1001: 10 000 kr due 01.10: 57 days -> 187,40; 10 000 + 37,50 + 187,40 = 10 224,90.
- 1004: 1 200 kr due 01.09, two reminders sent: notice with fee; 87 days -> 34,32; total 1 271,82.
- 2001: 2 000 kr due 10.10, one reminder with fee: second reminder without fee (cap with a notice to
  come), 37,50 of the first fee still open; 48 days -> 31,56; 2 000 + 37,50 + 31,56 = 2 069,06.
- 4001: 1 500 kr due 10.09, two reminders sent: notice with fee; 78 days -> 38,47; total 1 575,97.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from svea_web.dunning import services
from svea_web.dunning.models import ReminderRun, ReminderStep
from svea_web.extensions import db
from tests import factories
from tests.dunning.conftest import Ledger, history, html, row_of, start_run

RUN_DATE = date(2026, 11, 27)


@pytest.mark.all_backends
def test_preview_shows_each_step_with_hand_worked_fee_interest_and_amount_due(
    logged_in: FlaskClient, ledger: Ledger
) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))

    assert row_of(page, "1001") == (
        "Kari Nordmann 100 1001 01.10.2026 1. Purring 11.12.2026 10 000,00 kr 37,50 kr 187,40 kr 12,00 % 10 224,90 kr"
    )
    assert row_of(page, "1004") == (
        "Kari Nordmann 100 1004 01.09.2026 3. Inkassovarsel 11.12.2026 1 200,00 kr 37,50 kr 34,32 kr 12,00 % 1 271,82 kr"
    )
    assert row_of(page, "2001") == (
        "Fjell Bygg AS 200 uten e-post 2001 10.10.2026 2. Purring 11.12.2026 2 000,00 kr "
        "0,00 kr (gebyrtak nådd) + tidligere 37,50 kr 31,56 kr 12,00 % 2 069,06 kr"
    )
    assert row_of(page, "4001") == (
        "Per Berg 400 4001 10.09.2026 3. Inkassovarsel 11.12.2026 1 500,00 kr 37,50 kr 38,47 kr 12,00 % 1 575,97 kr"
    )
    summary = page.replace("\u00a0", " ")
    assert '<dd id="sum-steps">4</dd>' in summary
    assert '<dd id="sum-letters">4, av dem 3 på e-post</dd>' in summary
    assert '<dd id="sum-fees">112,50 kr</dd>' in summary
    assert '<dd id="sum-interest">291,75 kr</dd>' in summary
    assert '<dd id="sum-total">15 141,75 kr</dd>' in summary
    assert "1005" not in page  # not due yet


def test_preview_tells_why_each_other_overdue_post_gets_no_step(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    page = html(logged_in.get(f"/dunning/runs/{run_id}?tab=skipped"))

    assert row_of(page, "1002").endswith("For tidlig for gebyr (14 dager etter forfall) 04.12.2026")
    assert row_of(page, "1003").endswith("Purrestopp på posten: Tvist om leveransen 01.01.2027")
    assert row_of(page, "2002").endswith("Under minstebeløpet")
    assert row_of(page, "2003").endswith("For tidlig: fristen i forrige brev er ikke ute 05.12.2026")
    assert row_of(page, "3001").endswith("Purrestopp på kunden: Betalingsavtale")
    assert row_of(page, "4002").endswith("Alle trinn sendt – klar for Nye saker")
    assert row_of(page, "4003").endswith("Sendt til Svea")
    for stepped in ("1001", "1004", "2001", "4001"):
        assert f'data-post="{stepped}"' not in page


def test_skipped_tab_filters_by_reason_and_swaps_as_a_fragment(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    response = logged_in.get(
        f"/dunning/runs/{run_id}?tab=skipped&reason=below_min_amount", headers={"HX-Request": "true"}
    )
    fragment = html(response)
    assert fragment.startswith('<div id="preview-table"')
    assert 'data-post="2002"' in fragment
    assert 'data-post="2003"' not in fragment


def test_preview_changes_nothing(logged_in: FlaskClient, ledger: Ledger) -> None:
    run_id = start_run(logged_in, RUN_DATE)
    logged_in.get(f"/dunning/runs/{run_id}")
    logged_in.get(f"/dunning/runs/{run_id}?tab=skipped")
    assert db.session.get(ReminderRun, run_id).state == "preview"  # type: ignore[union-attr]
    assert db.session.query(ReminderStep).count() == 9  # the history of the fixture only
    db.session.refresh(ledger.posts["1001"])
    assert ledger.posts["1001"].reminder_step == 0


def test_interest_is_left_out_when_the_firm_does_not_charge_it(app: object, ledger: Ledger) -> None:
    from svea_web.setup.models import DunningSettings

    settings = db.session.get(DunningSettings, ledger.posts["1001"].client_id)
    assert settings is not None
    settings.interest_enabled = False
    db.session.commit()
    preview = services.build_preview(ledger.posts["1001"].client_id, RUN_DATE)
    line = next(s for s in preview.steps if s.invoice_no == "1001")
    assert (line.interest, line.interest_rate, line.amount_due) == (Decimal("0.00"), None, Decimal("10037.50"))


def test_a_preview_may_look_ahead_but_not_back(logged_in: FlaskClient, ledger: Ledger) -> None:
    response = logged_in.post("/dunning/runs", data={"run_date": "2026-11-26"})
    assert response.status_code == 400
    assert "En purrekjøring kan ikke gjelde en dato som er passert." in html(response)

    run_id = start_run(logged_in, date(2026, 12, 5))
    page = html(logged_in.get(f"/dunning/runs/{run_id}"))
    assert "Kjøringen kan bekreftes på sin egen dato, 05.12.2026." in page
    assert 'name="digest"' not in page
    # 1002 is 15 days overdue on 05.12: its first reminder may carry the fee by then.
    assert row_of(page, "1002").startswith("Kari Nordmann 100 1002 20.11.2026 1. Purring 19.12.2026 500,00 kr 37,50 kr")


def test_starting_the_same_date_twice_opens_the_waiting_preview(logged_in: FlaskClient, ledger: Ledger) -> None:
    assert start_run(logged_in, RUN_DATE) == start_run(logged_in, RUN_DATE)


def test_a_post_whose_notice_is_over_six_months_old_is_flagged(logged_in: FlaskClient, ledger: Ledger) -> None:
    customer = ledger.customers["per"]
    old = factories.post(customer, "900.00", due=date(2026, 1, 5), invoice_no="4009", match_no="4009")
    history(
        old,
        [
            ("reminder", date(2026, 1, 20), date(2026, 2, 3), "37.50"),
            ("reminder", date(2026, 2, 4), date(2026, 2, 18), "0"),
            ("notice", date(2026, 2, 19), date(2026, 3, 5), "37.50"),
        ],
    )
    db.session.commit()
    run_id = start_run(logged_in, RUN_DATE)
    page = html(logged_in.get(f"/dunning/runs/{run_id}?tab=skipped"))
    assert row_of(page, "4009").endswith("Alle trinn sendt, men inkassovarselet er over 6 måneder gammelt")
    assert row_of(page, "4002").endswith("Alle trinn sendt – klar for Nye saker")
