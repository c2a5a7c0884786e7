"""Norwegian amounts and dates as typed in forms and found in CSV imports."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svea_web.rules import parsing
from svea_web.rules.parsing import format_amount, format_date, parse_amount, parse_date

NBSP = "\u00a0"
THIN = "\u2009"
NARROW_NBSP = "\u202f"


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1 234,50", "1234.50"),
        ("1234,50", "1234.50"),
        ("1234.50", "1234.50"),
        ("1.234,50", "1234.50"),
        ("-1 234,50", "-1234.50"),
        (f"1{NBSP}234,50", "1234.50"),
        (f"1{THIN}234,50", "1234.50"),
        (f"1{NARROW_NBSP}234{NARROW_NBSP}567,89", "1234567.89"),
        ("kr 1 234,50", "1234.50"),
        ("kr. 1 234,50", "1234.50"),
        ("1 234,50 kr", "1234.50"),
        ("1234,50kr", "1234.50"),
        ("KR 99", "99.00"),
        ("NOK 99,9", "99.90"),
        ("-kr 1 234,50", "-1234.50"),
        ("kr -1 234,50", "-1234.50"),
        ("\u22121 234,50", "-1234.50"),  # typographic minus from a word processor
        ("- 12,00", "-12.00"),
        ("  42  ", "42.00"),
        ("0,5", "0.50"),
        ("1 234,-", "1234.00"),  # ",-" means whole kroner
        ("1.234,-", "1234.00"),  # ... so the dot here can only separate thousands
        ("1.234.567", "1234567.00"),  # two dots can only be thousands separators
        ("1.234.567,89", "1234567.89"),
        ("1 234.5", "1234.50"),
        ("007,00", "7.00"),
        ("-0,00", "0.00"),
        ("999 999 999 999,99", "999999999999.99"),  # the largest Numeric(14,2)
    ],
)
def test_parse_amount_accepts_norwegian_forms(text, amount):
    parsed = parse_amount(text)
    assert parsed == Decimal(amount)
    assert str(parsed) == amount  # always two decimals, never a negative zero


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "mangler"),
        ("   ", "mangler"),
        ("kr", "mangler"),
        # 1.234: a thousand (dot as thousands separator) or 1,234 (three decimals)? Refuse to guess.
        ("1.234", "tvetydig"),
        ("1 234.567", "tvetydig"),
        ("1,234", "to desimaler"),  # comma is the decimal sign: three decimals
        ("1234,505", "to desimaler"),  # never rounded silently
        ("12.3456", "to desimaler"),
        ("1,234.50", "komma som desimaltegn"),  # English style
        ("1,2,3", "komma"),
        ("12 34,50", "tusenskille"),  # groups of three only
        ("1 2345,00", "tusenskille"),
        ("1.234 567,00", "tusenskille"),  # two different thousands separators
        ("1  234", "tusenskille"),
        ("1234,", "desimal"),
        ("1234.", "desimal"),
        ("1,50,-", "hele kroner"),
        ("1,5 0", "desimalene"),
        (",50", "siffer foran"),
        ("12a", "ugyldig"),
        ("1e3", "ugyldig"),
        ("--5", "ugyldig"),
        ("5-", "ugyldig"),
        ("NaN", "ugyldig"),
        ("kr 5 kr", "ugyldig"),
        ("1 000 000 000 000,00", "for stort"),
    ],
)
def test_parse_amount_refuses_bad_or_ambiguous_input_with_norwegian_reason(text, says):
    with pytest.raises(ValueError) as caught:
        parse_amount(text)
    assert says in str(caught.value).lower()


def test_parse_amount_error_quotes_the_input_so_a_csv_row_can_be_found():
    with pytest.raises(ValueError, match="«1.234»"):
        parse_amount("1.234")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.5", f"1{NBSP}234,50"),
        ("0", "0,00"),
        ("-1234567.89", f"-1{NBSP}234{NBSP}567,89"),
        ("999", "999,00"),
        ("1000", f"1{NBSP}000,00"),
        # ROUND_HALF_UP on display: 0.005 -> 0.01, 2.675 -> 2.68 (exact in Decimal, unlike float)
        ("0.005", "0,01"),
        ("2.675", "2,68"),
        ("-0.004", "0,00"),
    ],
)
def test_format_amount_uses_comma_and_non_breaking_thousands_space(amount, text):
    assert format_amount(Decimal(amount)) == text


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_format_amount_refuses_non_numbers(amount):
    with pytest.raises(ValueError):
        format_amount(Decimal(amount))


@given(st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=2))
def test_formatted_amount_reads_back_to_the_same_amount(amount):
    assert parse_amount(format_amount(amount)) == amount


def _general_reading(text: str) -> Decimal | str:
    try:
        return parsing._parse_amount_general(text)
    except ValueError as error:
        return str(error)


def _reading(text: str) -> Decimal | str:
    try:
        return parse_amount(text)
    except ValueError as error:
        return str(error)


# The quick path for the common shapes must read every input exactly as the general path does.
@given(
    st.one_of(
        st.text(alphabet="0123456789 ,.-" + NBSP, max_size=20),
        st.from_regex(r"-?[0-9]{1,3}([ \u00a0][0-9]{3}){0,5}(,[0-9]{1,3})?", fullmatch=True),
        st.from_regex(r"-?[0-9]{1,16}(,[0-9]{0,3})?", fullmatch=True),
    )
)
def test_quick_and_general_amount_readings_agree(text):
    assert _reading(text) == _general_reading(text)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("31.12.2026", date(2026, 12, 31)),
        ("1.2.2026", date(2026, 2, 1)),
        ("01.02.2026", date(2026, 2, 1)),
        ("29.02.2024", date(2024, 2, 29)),
        ("2026-12-31", date(2026, 12, 31)),
        (" 2026-01-05 ", date(2026, 1, 5)),
    ],
)
def test_parse_date_accepts_norwegian_and_iso_dates(text, day):
    assert parse_date(text) == day


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "mangler"),
        ("31.12.26", "fire siffer"),  # the century is not guessed
        ("29.02.2025", "finnes ikke"),
        ("32.01.2026", "finnes ikke"),
        ("2026-02-30", "finnes ikke"),
        ("31/12/2026", "dd.mm.åååå"),
        ("2026-1-5", "dd.mm.åååå"),
        ("12.31.2026", "finnes ikke"),
        ("01.01.0001", "årstall"),  # a null placeholder some systems export
        ("2026-12-31T00:00", "dd.mm.åååå"),
    ],
)
def test_parse_date_refuses_other_forms_with_norwegian_reason(text, says):
    with pytest.raises(ValueError) as caught:
        parse_date(text)
    assert says in str(caught.value).lower()


@pytest.mark.parametrize(("day", "text"), [(date(2026, 12, 31), "31.12.2026"), (date(2026, 1, 5), "05.01.2026")])
def test_format_date_is_dd_mm_yyyy(day, text):
    assert format_date(day) == text


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_formatted_date_reads_back(day):
    assert parse_date(format_date(day)) == day
