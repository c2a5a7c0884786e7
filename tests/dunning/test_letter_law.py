"""What a letter states about the law's figures must be true (RULES.md § Late-payment interest).

The rate is fixed for each half-year (1 Jan, 1 Jul) and a new rate also applies to a claim already
running, so interest counted over more than one half-year is counted at more than one rate. A letter
that says it used the run date's rate "from the due date" then states a figure it did not use.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from svea_web.dunning.letters import build_content, letter_text
from svea_web.dunning.models import ReminderLetter
from svea_web.extensions import db
from svea_web.rules.figures import DEFAULT_LATE_INTEREST_RATES
from svea_web.rules.interest import late_interest
from tests.dunning.conftest import Ledger, html, run_today


def _content(due: date, run: date, interest: str) -> dict:
    line = {
        "post_id": 1,
        "invoice_no": "1001",
        "invoice_date": date(2025, 11, 1),
        "due_date": due,
        "kid": None,
        "step_no": 1,
        "principal": Decimal("10000.00"),
        "earlier_fees": Decimal("0.00"),
        "fee": Decimal("0.00"),
        "interest": Decimal(interest),
        # the preview stores the rate in force on the run date
        "interest_rate": Decimal("12.00"),
        "amount_due": Decimal("10000.00") + Decimal(interest),
        "deadline": date(2026, 2, 3),
    }
    return build_content("reminder", run, {"name": "Firma AS"}, {"name": "Kari", "customer_no": "1"}, [line])


def _interest_paragraph(content: dict) -> str:
    (paragraph,) = [p for p in letter_text(content).paragraphs if p.startswith("Forsinkelsesrente")]
    return paragraph.replace("\xa0", " ")


@pytest.mark.parametrize(
    ("due", "run", "interest", "single_rate"),
    [
        # Due 01.12.2025, run 20.01.2026, 10 000 kr (RULES.md § Late-payment interest, default table):
        # 02.12–31.12.2025 = 30 days x 12.50 % / 365 = 102.7397; 01.01–20.01.2026 = 20 days x 12.00 % / 365
        # = 65.7534; total 168.4931 -> 168.49. "12,00 % from the due date" would be 50 x 12.00 % / 365
        # x 10 000 = 164.38, not the 168.49 the letter charges.
        pytest.param(date(2025, 12, 1), date(2026, 1, 20), "168.49", False, id="over-a-new-year-rate"),
        # Due 30.12.2025: 31.12.2025 is one day at the old half-year's rate:
        # 1 x 12.50 % / 365 x 10 000 = 3.4247; 20 x 12.00 % / 365 x 10 000 = 65.7534; total 69.18.
        pytest.param(date(2025, 12, 30), date(2026, 1, 20), "69.18", False, id="one-day-before-the-half-year"),
        # Due 31.12.2025: interest runs from 01.01.2026, all of it at 12.00 %: 20 x 12.00 % / 365 x 10 000
        # = 65.7534 -> 65.75. One rate from the due date is then the truth.
        pytest.param(date(2025, 12, 31), date(2026, 1, 20), "65.75", True, id="all-in-the-run-dates-half-year"),
        # Due 01.10.2026, run 27.11.2026: 57 days x 12.00 % / 365 x 10 000 = 187.3973 -> 187.40.
        pytest.param(date(2026, 10, 1), date(2026, 11, 27), "187.40", True, id="one-rate"),
    ],
)
def test_the_letter_names_one_rate_from_the_due_date_only_when_one_rate_was_used(due, run, interest, single_rate):
    assert late_interest(Decimal("10000.00"), due, run, DEFAULT_LATE_INTEREST_RATES) == Decimal(interest)
    paragraph = _interest_paragraph(_content(due, run, interest))
    run_text = run.strftime("%d.%m.%Y")
    if single_rate:
        assert paragraph == (
            "Forsinkelsesrente er beregnet etter forsinkelsesrenteloven med 12,00 % per år fra forfallsdato "
            f"til {run_text}, og løper videre til beløpet er betalt."
        )
    else:
        assert "12,00 % per år fra forfallsdato" not in paragraph
        assert paragraph == (
            f"Forsinkelsesrente er beregnet etter forsinkelsesrenteloven fra forfallsdato til {run_text}, "
            "for hvert halvår med den satsen som gjaldt da (fra 01.01.2026: 12,00 % per år), "
            "og løper videre til beløpet er betalt."
        )


def test_a_rate_change_on_1_july_is_named_from_that_day() -> None:
    # Due 29.06.2026, run 10.07.2026: 30.06 is at the first half-year's rate, 01.07–10.07 at the second's
    # (both 12.00 % in the default table): 11 x 12.00 % / 365 x 10 000 = 36.1644 -> 36.16.
    content = _content(date(2026, 6, 29), date(2026, 7, 10), "36.16")
    assert "(fra 01.07.2026: 12,00 % per år)" in _interest_paragraph(content)


def test_the_printable_letter_is_norwegian_even_when_the_user_reads_english(
    logged_in: FlaskClient, ledger: Ledger
) -> None:
    # The letter goes to the debtor: the page printed from it is the same Norwegian letter as the PDF.
    run_id = run_today(logged_in, date(2026, 11, 27))
    letter = next(
        letter
        for letter in db.session.scalars(select(ReminderLetter).where(ReminderLetter.run_id == run_id))
        if letter.kind == "reminder"
    )
    logged_in.post("/language/en")
    page = html(logged_in.get(f"/dunning/letters/{letter.id}"))
    article = re.sub(r"<[^>]+>", " ", page.split('<article class="letter">')[1])
    assert "Dato: 27.11.2026" in article
    assert "Date:" not in article
