"""The matching rules on their own (no database): KID exact and padded, match numbers in text, spreading."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from svea_web.payments.matching import Candidate, kid_variants, plan, posts_for_kid, words


def post(post_id: int, kid: str | None = None, customer: int = 1, due: date = date(2026, 10, 1), credit: bool = False):
    return Candidate(post_id, customer, kid, str(post_id), due, credit)


def index(*posts: Candidate) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = {}
    for p in posts:
        found.setdefault(p.kid or "", []).append(p)
    return found


def test_exact_kid_wins_over_a_padded_one():
    exact, padded = post(1, "0531"), post(2, "531")

    assert posts_for_kid("0531", 10, index(exact, padded)) == [exact]


@pytest.mark.parametrize(
    ("paid", "stored", "length", "same"),
    [
        ("0000000531", "531", 10, True),  # bank pads to the configured KID length
        ("531", "0000000531", 10, True),  # the ledger holds the padded form
        ("00531", "531", 10, True),  # both padded to 10 are equal
        ("00000000000531", "531", 10, False),  # zeros beyond the KID length are not padding
        ("0531", "531", 3, False),  # longer than the KID length: only an exact match
        ("10000123", "10000132", 25, False),
    ],
)
def test_padded_kid_matches_only_when_the_configured_kid_length_explains_the_zeros(paid, stored, length, same):
    candidate = post(1, stored)

    assert (posts_for_kid(paid, length, index(candidate)) == [candidate]) is same
    if same:
        assert stored in kid_variants(paid, length)


def test_words_of_free_text_that_can_be_match_numbers():
    assert words(["Betaling faktura 20417, takk", "F-2026-001 og #1002."]) == ["20417", "F-2026-001", "1002"]
    assert words(["1 2 x"]) == []


def test_amount_is_spread_oldest_first_and_the_rest_is_a_credit():
    old, new = post(1, due=date(2026, 9, 1)), post(2, due=date(2026, 10, 1))
    open_amounts = {1: Decimal("300.00"), 2: Decimal("500.00")}

    result = plan(Decimal("1000.00"), [new, old], open_amounts)

    assert result is not None
    assert result.allocations == ((1, Decimal("300.00")), (2, Decimal("500.00")))
    assert result.credit == Decimal("200.00")
    assert open_amounts == {1: Decimal("0.00"), 2: Decimal("0.00")}


def test_partial_payment_leaves_the_rest_open():
    open_amounts = {1: Decimal("1000.00")}

    result = plan(Decimal("400.00"), [post(1)], open_amounts)

    assert result is not None and result.allocations == ((1, Decimal("400.00")),) and result.credit == 0
    assert open_amounts[1] == Decimal("600.00")


def test_posts_of_two_customers_are_ambiguous_and_a_reversal_is_never_matched():
    assert plan(Decimal("100"), [post(1, customer=1), post(2, customer=2)], {1: Decimal(100), 2: Decimal(100)}) is None
    assert plan(Decimal("-100"), [post(1)], {1: Decimal(100)}) is None


def test_a_paid_post_takes_nothing_and_the_whole_amount_becomes_a_credit():
    result = plan(Decimal("250.00"), [post(1)], {1: Decimal("0.00")})

    assert result is not None and result.allocations == () and result.credit == Decimal("250.00")
