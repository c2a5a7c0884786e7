"""In a real Chromium: log in, preview a reminder run, confirm it, open a letter's PDF; a queued confirm's progress."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask

from svea_web.extensions import db
from tests import factories
from tests.conftest import Firm, log_in_browser
from tests.jobs.worker_process import run_worker

pytestmark = pytest.mark.browser


def test_preview_confirm_and_open_the_letter_pdf(page: Any, live_server: str, inkasso_firm: Firm) -> None:
    customer = factories.customer(inkasso_firm.client.id, "Åse Berg", email="ase@example.no", customer_no="100")
    factories.post(customer, "10000.00", due=date(2026, 10, 1), invoice_no="1001", kid="0000010017")
    factories.post(customer, "500.00", due=date(2026, 11, 20), invoice_no="1002")
    db.session.commit()

    log_in_browser(page, live_server + "/dunning/", inkasso_firm.admin.email)
    page.wait_for_url("**/dunning/")

    assert page.get_by_label("Dato for kjøringen").input_value() == "2026-11-27"
    page.get_by_role("button", name="Vis forhåndsvisning").click()
    page.wait_for_url("**/dunning/runs/*")
    row = page.locator('tr[data-post="1001"]')
    assert "10\u00a0224,90 kr" in row.inner_text()
    assert page.locator("#sum-fees").inner_text() == "37,50 kr"

    page.get_by_role("link", name="Uten trinn (1)").click()
    page.wait_for_url("**tab=skipped**")
    assert "For tidlig for gebyr" in page.locator('tr[data-post="1002"]').inner_text()
    page.get_by_role("link", name="Får trinn (1)").click()
    page.wait_for_url("**tab=steps**")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Bekreft og send 1 brev").click()
    page.get_by_text("Kjøringen er bekreftet.").wait_for()
    letters = page.locator("#letters")
    assert "Åse Berg" in letters.inner_text()
    assert "I lokal utboks" in letters.inner_text()

    # The link opens the PDF in a new tab: watch the responses of the whole browser context.
    with page.context.expect_event("response", lambda response: response.url.endswith(".pdf")) as answer:
        page.locator("#letters").get_by_role("link", name="PDF").click()
    response = answer.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    # Chromium hands the PDF to its viewer, so read the bytes again with the same login.
    assert page.context.request.get(response.url).body().startswith(b"%PDF")


def test_a_queued_confirm_shows_its_progress_then_the_letters(
    app: Flask, page: Any, live_server: str, inkasso_firm: Firm, queued_jobs: None
) -> None:
    customer = factories.customer(inkasso_firm.client.id, "Åse Berg", email="ase@example.no", customer_no="100")
    factories.post(customer, "10000.00", due=date(2026, 10, 1), invoice_no="1001", kid="0000010017")
    db.session.commit()

    log_in_browser(page, live_server + "/dunning/", inkasso_firm.admin.email)
    page.wait_for_url("**/dunning/")
    page.get_by_role("button", name="Vis forhåndsvisning").click()
    page.wait_for_url("**/dunning/runs/*")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Bekreft og send 1 brev").click()

    # The job waits in Redis: the page says so and keeps asking.
    page.locator("#confirm-progress").wait_for()
    assert page.locator("#letters").count() == 0
    finished = run_worker(app)
    assert finished.returncode == 0, finished.stderr

    page.get_by_text("Kjøringen er bekreftet. Nye trinn: 1. Brev: 1.").wait_for(timeout=15_000)
    assert page.locator("#confirm-progress").count() == 0
    assert "Åse Berg" in page.locator("#letters").inner_text()
    assert "Bekreftet" in page.locator("h1").inner_text()
