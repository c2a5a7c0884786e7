"""The letter a customer gets from a reminder run: its frozen content, its text, its PDF and e-mail.

A letter is always Norwegian, whatever language the user reads the app in: it goes to the debtor.
Its ``content`` (a JSON-safe dict saved on ReminderLetter) holds every figure the letter prints, so
the printable page, the PDF and the e-mail are made from the same data and never change later.

The collection notice (inkassovarsel, inkassoloven § 9) says plainly that the claim goes to
collection and never calls itself a reminder ("purring"); a test reads its text for that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from stdnum.no import kontonr

from svea_web.rules.dunning import NOTICE_WORDING, REMINDER_WORDING
from svea_web.rules.parsing import format_amount, format_date

KIND_TITLES = {"reminder": REMINDER_WORDING.title, "notice": NOTICE_WORDING.title}
COLLECTION_AGENCY = "Svea Finans AS"


@dataclass(frozen=True)
class LetterRow:
    invoice_no: str
    due_date: str
    principal: str
    fee: str
    interest: str
    amount_due: str
    deadline: str
    kid: str


@dataclass(frozen=True)
class LetterText:
    """The letter as the page, the PDF and the e-mail show it (already formatted)."""

    title: str
    subtitle: str | None
    letter_date: str
    creditor_lines: list[str]
    recipient_lines: list[str]
    intro: str
    rows: list[LetterRow]
    total: str
    paragraphs: list[str]
    closing: str
    filename: str


def _amount(value: str) -> str:
    return format_amount(Decimal(value))


def _day(value: str) -> str:
    return format_date(date.fromisoformat(value))


def account_display(account_no: str | None) -> str:
    if not account_no:
        return ""
    return str(kontonr.format(account_no)) if kontonr.is_valid(account_no) else account_no


def build_content(
    kind: str,
    run_date: date,
    creditor: dict[str, Any],
    recipient: dict[str, Any],
    lines: list[dict[str, Any]],
) -> dict[str, Any]:
    """The letter's data. ``lines`` hold Decimal amounts and dates; they are stored as strings."""
    stored = []
    for line in lines:
        stored.append(
            {
                "post_id": line["post_id"],
                "invoice_no": line["invoice_no"],
                "invoice_date": line["invoice_date"].isoformat(),
                "due_date": line["due_date"].isoformat(),
                "kid": line["kid"],
                "step_no": line["step_no"],
                "principal": str(line["principal"]),
                "earlier_fees": str(line["earlier_fees"]),
                "fee": str(line["fee"]),
                "interest": str(line["interest"]),
                "interest_rate": None if line["interest_rate"] is None else str(line["interest_rate"]),
                "amount_due": str(line["amount_due"]),
                "deadline": line["deadline"].isoformat(),
            }
        )
    total = sum((Decimal(line["amount_due"]) for line in stored), Decimal("0.00"))
    return {
        "kind": kind,
        "run_date": run_date.isoformat(),
        "deadline": max(line["deadline"] for line in stored),
        "creditor": creditor,
        "recipient": recipient,
        "lines": stored,
        "total": str(total),
        "fee_total": str(sum((Decimal(line["fee"]) for line in stored), Decimal("0.00"))),
    }


def _address_lines(party: dict[str, Any]) -> list[str]:
    lines = [str(party.get("name") or "")]
    if party.get("address"):
        lines.append(str(party["address"]))
    place = " ".join(str(part) for part in (party.get("postcode"), party.get("city")) if part)
    if place:
        lines.append(place)
    return lines


def _payment_sentence(content: dict[str, Any], total: str, deadline: str) -> str:
    account = account_display(content["creditor"].get("account_no"))
    kids = [line["kid"] for line in content["lines"] if line["kid"]]
    if len(content["lines"]) == 1:
        reference = f"med KID {kids[0]}" if kids else f"merket med fakturanummer {content['lines'][0]['invoice_no']}"
    else:
        reference = "med KID-nummeret som står ved hver faktura, eller merket med fakturanummeret"
    return f"Beløpet {total} kr betales innen {deadline} til kontonummer {account} {reference}."


def _half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _interest_sentence(content: dict[str, Any]) -> str | None:
    rates = sorted({line["interest_rate"] for line in content["lines"] if line["interest_rate"] is not None})
    if not rates:
        return None
    rate = " / ".join(format_amount(Decimal(value)) for value in rates)
    run_date = date.fromisoformat(content["run_date"])
    # The stored rate is the run date's. The rate is set per half-year and also applies to running
    # claims, so interest from before this half-year was counted at that half-year's rate.
    half_year = _half_year_start(run_date)
    earlier_half_year = any(
        line["interest_rate"] is not None and date.fromisoformat(line["due_date"]) + timedelta(days=1) < half_year
        for line in content["lines"]
    )
    if earlier_half_year:
        return (
            f"Forsinkelsesrente er beregnet etter forsinkelsesrenteloven fra forfallsdato til {format_date(run_date)}, "
            f"for hvert halvår med den satsen som gjaldt da (fra {format_date(half_year)}: {rate} % per år), "
            "og løper videre til beløpet er betalt."
        )
    return (
        f"Forsinkelsesrente er beregnet etter forsinkelsesrenteloven med {rate} % per år fra forfallsdato "
        f"til {format_date(run_date)}, og løper videre til beløpet er betalt."
    )


def _fee_sentence(content: dict[str, Any]) -> str | None:
    charged = sorted({line["fee"] for line in content["lines"] if Decimal(line["fee"]) > 0})
    earlier = any(Decimal(line["earlier_fees"]) > 0 for line in content["lines"])
    parts = []
    if charged:
        amounts = " / ".join(_amount(value) for value in charged)
        if content["kind"] == "notice":
            parts.append(f"For dette inkassovarselet er det lagt til et gebyr på {amounts} kr per faktura")
        else:
            parts.append(f"For denne påminnelsen er det lagt til et purregebyr på {amounts} kr per faktura")
        parts[-1] += " (inkassoforskriften § 1-2)."
    if earlier:
        parts.append("Gebyret i tabellen tar med ubetalte gebyrer fra tidligere brev om samme faktura.")
    return " ".join(parts) if parts else None


def letter_text(content: dict[str, Any]) -> LetterText:
    kind = content["kind"]
    creditor = content["creditor"]
    recipient = content["recipient"]
    total = _amount(content["total"])
    deadline = _day(content["deadline"])
    rows = [
        LetterRow(
            invoice_no=line["invoice_no"],
            due_date=_day(line["due_date"]),
            principal=_amount(line["principal"]),
            fee=_amount(str(Decimal(line["fee"]) + Decimal(line["earlier_fees"]))),
            interest=_amount(line["interest"]),
            amount_due=_amount(line["amount_due"]),
            deadline=_day(line["deadline"]),
            kid=line["kid"] or "",
        )
        for line in content["lines"]
    ]
    several = len(rows) > 1
    contact = ", ".join(str(part) for part in (creditor.get("email"), creditor.get("phone")) if part)
    creditor_ref = creditor["name"] + (f" ({contact})" if contact else "")
    paragraphs: list[str] = []
    if kind == "notice":
        subtitle: str | None = "Varsel om inkasso etter inkassoloven § 9"
        intro = (
            f"{'Fakturaene' if several else 'Fakturaen'} nedenfor er fortsatt ikke betalt, "
            "selv om betalingsfristen er passert."
        )
        paragraphs.append(
            f"Dersom {total} kr ikke er betalt innen {deadline}, vil kravet bli sendt til inkasso hos "
            f"{COLLECTION_AGENCY}. Du blir da ansvarlig for inkassokostnader i tillegg til kravet, "
            "og forsinkelsesrente påløper til beløpet er betalt."
        )
        paragraphs.append(_payment_sentence(content, total, deadline))
        closing = (
            f"Har du innsigelser mot kravet, må du gi beskjed til {creditor_ref} før fristen går ut. "
            "Har du allerede betalt, kan du se bort fra dette varselet."
        )
    else:
        subtitle = None
        intro = (
            f"Vi kan ikke se å ha mottatt betaling for {'fakturaene' if several else 'fakturaen'} nedenfor, "
            "som er forfalt til betaling."
        )
        paragraphs.append(_payment_sentence(content, total, deadline))
        closing = (
            "Har du allerede betalt, kan du se bort fra denne påminnelsen. "
            f"Har du spørsmål om kravet, ta kontakt med {creditor_ref}."
        )
    for sentence in (_fee_sentence(content), _interest_sentence(content)):
        if sentence:
            paragraphs.append(sentence)
    creditor_lines = _address_lines(creditor)
    if creditor.get("org_no"):
        creditor_lines.append(f"Org.nr. {creditor['org_no']}")
    if creditor.get("account_no"):
        creditor_lines.append(f"Kontonr. {account_display(creditor['account_no'])}")
    slug = "inkassovarsel" if kind == "notice" else "betalingspaminnelse"
    # The file name goes into HTTP and mail headers: ASCII letters, digits and dashes only.
    customer_part = re.sub(r"[^A-Za-z0-9]+", "-", str(recipient.get("customer_no") or "")).strip("-") or "kunde"
    return LetterText(
        title=KIND_TITLES[kind],
        subtitle=subtitle,
        letter_date=_day(content["run_date"]),
        creditor_lines=creditor_lines,
        recipient_lines=_address_lines(recipient),
        intro=intro,
        rows=rows,
        total=total,
        paragraphs=paragraphs,
        closing=closing,
        filename=f"{slug}-{customer_part}-{content['run_date']}.pdf",
    )


# Widths in mm add up to the 180 mm between the margins; a 25-digit KID needs about 43 mm.
COLUMNS = (
    ("Fakturanr", 22, "L"),
    ("Forfall", 18, "L"),
    ("Hovedstol", 23, "R"),
    ("Gebyr", 16, "R"),
    ("Rente", 16, "R"),
    ("Å betale", 23, "R"),
    ("Ny frist", 18, "C"),
    ("KID", 44, "R"),
)

_PDF_REPLACEMENTS = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})


def _latin1(text: str) -> str:
    """The PDF core fonts hold Latin-1 (æøå included); anything else becomes '?' instead of failing."""
    return text.translate(_PDF_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


def _row_cells(row: LetterRow) -> tuple[str, ...]:
    return (row.invoice_no, row.due_date, row.principal, row.fee, row.interest, row.amount_due, row.deadline, row.kid)


def _add_letter(pdf: FPDF, text: LetterText) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    top = pdf.get_y()
    for line in text.creditor_lines:
        pdf.set_x(120)
        pdf.cell(75, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + 12)
    for line in text.recipient_lines:
        pdf.cell(100, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + 5 * len(text.creditor_lines)) + 10)
    pdf.cell(0, 5, _latin1(f"Dato: {text.letter_date}"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(0, 9, _latin1(text.title), new_x="LMARGIN", new_y="NEXT")
    if text.subtitle:
        pdf.set_font("Helvetica", style="B", size=11)
        pdf.cell(0, 6, _latin1(text.subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, _latin1(text.intro), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=8.5)
    for label, width, align in COLUMNS:
        pdf.cell(width, 6, _latin1(label), border="B", align=align)
    pdf.ln()
    pdf.set_font("Helvetica", size=8.5)
    for row in text.rows:
        for cell, (_label, width, align) in zip(_row_cells(row), COLUMNS, strict=True):
            pdf.cell(width, 6, _latin1(cell), align=align)
        pdf.ln()
    pdf.set_font("Helvetica", style="B", size=9)
    pdf.cell(sum(width for _l, width, _a in COLUMNS[:5]), 7, "Sum å betale", border="T")
    pdf.cell(COLUMNS[5][1], 7, _latin1(text.total), border="T", align="R")
    pdf.cell(sum(width for _l, width, _a in COLUMNS[6:]), 7, "", border="T", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    for paragraph in [*text.paragraphs, text.closing]:
        pdf.multi_cell(0, 5, _latin1(paragraph), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)


def render_pdf(contents: list[dict[str, Any]], created_at: datetime) -> bytes:
    """One PDF with each letter on its own page(s). ``created_at`` fixes the PDF's date, so the
    same letter always gives the same file."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created_at)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    first = letter_text(contents[0]) if contents else None
    pdf.set_title(_latin1(first.title if first else "Brev"))
    pdf.set_author(_latin1(contents[0]["creditor"]["name"] if contents else ""))
    for content in contents:
        _add_letter(pdf, letter_text(content))
    return bytes(pdf.output())


def email_subject(content: dict[str, Any]) -> str:
    return f"{KIND_TITLES[content['kind']]} fra {content['creditor']['name']}"


def email_body(content: dict[str, Any]) -> str:
    text = letter_text(content)
    lines = [text.title]
    if text.subtitle:
        lines.append(text.subtitle)
    lines += ["", text.intro, ""]
    for row in text.rows:
        kid = f", KID {row.kid}" if row.kid else ""
        lines.append(
            f"Faktura {row.invoice_no}, forfalt {row.due_date}: hovedstol {row.principal} kr, gebyr {row.fee} kr, "
            f"rente {row.interest} kr, å betale {row.amount_due} kr innen {row.deadline}{kid}."
        )
    lines += [f"Sum å betale: {text.total} kr.", ""]
    for paragraph in [*text.paragraphs, text.closing]:
        lines += [paragraph, ""]
    lines += ["Brevet ligger vedlagt som PDF.", "", "Med vennlig hilsen", content["creditor"]["name"]]
    return "\n".join(lines)
