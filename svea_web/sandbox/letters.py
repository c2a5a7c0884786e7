"""The letters the agency sends the debtor, as PDF documents."""

from __future__ import annotations

import json
from datetime import UTC

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from svea_web.sandbox.agency import LETTER_TITLES, kroner_text
from svea_web.sandbox.models import Case, Dispatch

AGENCY_ACCOUNT = "1503.22.12345"

INTRODUCTIONS = {
    "REMINDER": (
        "Vi har ikke registrert betaling av kravet nedenfor, som {creditor} har overlatt til oss. "
        "Vennligst betal innen fristen."
    ),
    "COLLECTION_NOTICE": (
        "Kravet nedenfor er ikke betalt. Dersom det ikke er betalt innen fristen, vil kravet bli sendt "
        "til inkasso, og det vil påløpe ytterligere omkostninger (inkassoloven § 9)."
    ),
    "PAYMENT_DEMAND": (
        "Kravet er overtatt til inkasso. Dersom det ikke er betalt innen fristen, kan kravet bli "
        "inndrevet rettslig (inkassoloven § 10). Beløpet består av hovedstol, renter og omkostninger."
    ),
}


def _latin1(text: str) -> str:
    # The PDF core fonts are latin-1: æ, ø and å print, anything outside prints as "?", never fails.
    return text.encode("latin-1", "replace").decode("latin-1")


def render_letter(dispatch: Dispatch, case: Case, creditor_name: str) -> bytes:
    debtor = json.loads(case.debtor)
    address = debtor["address"]
    pdf = FPDF(format="A4")
    pdf.set_creation_date(dispatch.sent_at.replace(tzinfo=UTC))
    pdf.set_title(_latin1(f"{LETTER_TITLES[dispatch.kind]} sak {case.case_number}"))
    pdf.add_page()

    def line(text: str, size: float = 11, style: str = "", height: float = 6) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.cell(0, height, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line("Svea Finans AS (sandkasse)", size=9, style="B")
    line("Postboks 1, 2301 Hamar", size=9)
    pdf.ln(10)
    line(debtor["name"])
    line(address["street"])
    line(f"{address['postalCode']} {address['city']}")
    pdf.ln(10)
    line(LETTER_TITLES[dispatch.kind], size=16, style="B", height=9)
    line(f"Saksnummer: {case.case_number}    Dato: {dispatch.sent_at.strftime('%d.%m.%Y')}", size=10)
    line(f"Oppdragsgiver: {creditor_name}", size=10)
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, _latin1(INTRODUCTIONS[dispatch.kind].format(creditor=creditor_name)))
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=10)
    for heading, width in (("Faktura", 50), ("Forfall", 40), ("KID", 60), ("Rest", 30)):
        pdf.cell(width, 6, heading, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for invoice in json.loads(dispatch.invoice_lines):
        pdf.cell(50, 6, _latin1(invoice["invoiceNo"]))
        pdf.cell(40, 6, invoice["dueDate"])
        pdf.cell(60, 6, invoice["kid"] or "")
        pdf.cell(30, 6, kroner_text(invoice["remaining"]), align="R")
        pdf.ln()
    pdf.ln(4)
    for label, ore in (
        ("Hovedstol", dispatch.principal_due),
        ("Gebyrer og omkostninger", dispatch.fees_due),
        ("Forsinkelsesrenter", dispatch.interest_due),
        ("Å betale", dispatch.total_due),
    ):
        pdf.set_font("Helvetica", style="B" if label == "Å betale" else "", size=10)
        pdf.cell(150, 6, _latin1(label))
        pdf.cell(30, 6, kroner_text(ore), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    line(
        f"Betales til konto {AGENCY_ACCOUNT} innen {dispatch.deadline.strftime('%d.%m.%Y')}. "
        f"Merk betalingen med saksnummer {case.case_number}.",
        size=10,
    )
    return bytes(pdf.output())
