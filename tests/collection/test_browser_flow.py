"""The whole Inkassosaker routine in Chromium: the app over HTTP, a separate worker.py, the sandbox.

Mark posts → Opprett Svea purring → the sandbox clock moves on → the case number appears → a message
to the case handler → the reply appears → close the case → it is in Arkiverte saker with its history.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from tests.collection.conftest import company, debtor, overdue_post
from tests.conftest import log_in_browser
from tests.jobs.worker_process import ROOT, worker_env

pytestmark = pytest.mark.browser

WORKER_REDIS_DB = 9


@pytest.fixture
def app_config(app_config: dict[str, Any], redis_url: str, database_url: str) -> dict[str, Any]:
    # Jobs wait in Redis for the worker, as in production (database_url: see tests/jobs/conftest.py).
    # CSRF on, as in production: every form and HTMX request must carry the token.
    return {
        **app_config,
        "REDIS_URL": f"{redis_url}?db={WORKER_REDIS_DB}",
        "RQ_IS_ASYNC": True,
        "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture
def worker(app: Any) -> Iterator[subprocess.Popen[str]]:
    """worker.py in its own process, running jobs as they come until the test ends."""
    Redis.from_url(app.config["REDIS_URL"]).flushdb()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py"), "--no-periodic"],
        cwd=ROOT,
        env=worker_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(process.stdout.read() if process.stdout else "")  # shown when the test fails
        Redis.from_url(app.config["REDIS_URL"]).flushdb()


def test_send_follow_talk_close_and_find_in_the_archive(
    page: Any, live_server: str, svea_firm: Any, sandbox: Any, worker: Any
) -> None:
    kari = debtor(svea_firm.client.id, "Kari Nordmann")
    overdue_post(kari, "1250.00", match_no="7001")
    overdue_post(company(svea_firm.client.id, "Fjord Bygg AS"), "800.00", match_no="7002")
    page.on("dialog", lambda dialog: dialog.accept())

    log_in_browser(page, live_server + "/collection/", svea_firm.admin.email)
    page.wait_for_url("**/collection/**")

    # Mark every row from the keyboard and send them.
    create = page.get_by_role("button", name="Opprett Svea purring")
    assert create.is_disabled()
    page.get_by_label("Marker alle på siden").focus()
    page.keyboard.press("Space")
    page.get_by_text("2 markert").wait_for()
    create.focus()
    page.keyboard.press("Enter")
    page.get_by_text("2 saker er opprettet og sendes til Svea.").wait_for()
    page.get_by_text("Sendt til Svea: 2 av 2 saker").wait_for(timeout=30_000)
    page.get_by_text("2 venter på saksnummer").wait_for()
    assert page.locator("#new-cases-table input[name=row]").count() == 0

    # Svea confirms about 5 minutes later; «Oppdater nå» fetches the case numbers.
    sandbox.advance_clock(301)
    numbers = {case["debtor"]["name"]: case["caseNumber"] for case in sandbox.cases()}
    page.get_by_role("button", name="Oppdater nå").click()
    page.get_by_text(re.compile("Status fra Svea hentet")).wait_for(timeout=30_000)
    page.get_by_role("tab", name=re.compile("Åpne saker")).click()
    page.wait_for_url("**/collection/open")
    case_link = page.get_by_role("link", name=numbers["Kari Nordmann"])
    case_link.wait_for()
    assert page.get_by_role("link", name=numbers["Fjord Bygg AS"]).is_visible()

    # The case pane: posts, history, and a message to the case handler.
    case_link.click()
    heading = page.locator("#case-heading")
    heading.get_by_text(f"Sak {numbers['Kari Nordmann']}").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'case-heading'")
    assert page.locator("#case-posts").get_by_text("7001").is_visible()
    page.get_by_label("Melding til saksbehandler").fill("Kunden ber om en nedbetalingsplan.")
    page.get_by_role("button", name="Send melding").click()
    page.locator("#case-messages").get_by_text("Sendt", exact=True).wait_for(timeout=30_000)

    sandbox.advance_clock(121)
    page.get_by_role("button", name="Oppdater nå").click()
    page.locator("#case-messages").get_by_text(re.compile("Takk for meldingen")).wait_for(timeout=30_000)

    # Close the case (the confirm dialog is accepted above); Svea's answer lands in the history.
    page.get_by_label("Avslutt saken – årsak").select_option(label="Trukket tilbake")
    page.get_by_role("button", name="Avslutt sak").click()
    page.locator("#case-history").get_by_text("Saken er avsluttet: trukket tilbake av kreditor.").wait_for(
        timeout=30_000
    )
    # The tabs refresh themselves once the case is closed: it leaves Åpne saker.
    page.locator("#open-cases").get_by_role("link", name=numbers["Kari Nordmann"]).wait_for(
        state="detached", timeout=30_000
    )

    page.get_by_role("tab", name=re.compile("Arkiverte saker")).click()
    page.wait_for_url("**/collection/archived")
    page.get_by_label("Søk (kunde, saksnummer, fakturanr)").fill(numbers["Kari Nordmann"])
    page.wait_for_url(f"**q={numbers['Kari Nordmann']}**")
    archived = page.locator("#archived-cases")
    assert archived.get_by_role("link", name=numbers["Kari Nordmann"]).is_visible()
    assert archived.get_by_text("Fjord Bygg AS").count() == 0
    archived.get_by_role("link", name=numbers["Kari Nordmann"]).click()
    history = page.locator("#case-history")
    history.get_by_text(re.compile("Saken er registrert med saksnummer")).wait_for()
    assert history.get_by_text("Melding sendt til saksbehandler: «Kunden ber om en nedbetalingsplan.»").is_visible()
