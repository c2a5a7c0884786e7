"""How a payment finds its posts: pure rules, no database.

Order of the rules:

1. **KID, exact**: posts whose KID is the payment's KID, character for character.
2. **KID, padded**: only when no post has the exact KID. Svea and many banks carry a KID left-padded
   with zeros to the firm's configured KID length (Oppsett Svea), while the ledger may hold it without
   the zeros (or the other way round). Two KIDs are then the same when both, padded with zeros to the
   configured length, are equal. Zeros beyond that length are never stripped, and a KID longer than
   the configured length only matches exactly. Leading zeros do not change MOD10/MOD11 check digits,
   so the padded form is the same KID to the bank.
3. **Match number** (motpostnr) found as a word of the payment's free text (or a KID that matched no
   KID, since payers put invoice numbers in the KID field).
4. Otherwise the payment waits in the queue for manual matching, with suggestions.

Posts found by a rule must belong to one customer; posts of several customers are ambiguous and go
to the queue. The amount is spread over the customer's found posts, oldest due date first, up to each
post's open amount; what is left is an overpayment, kept as a credit on the customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z/_-]*")
MIN_TOKEN = 2
MAX_TOKEN = 40
MAX_TOKENS = 20


@dataclass(frozen=True)
class Candidate:
    id: int
    customer_id: int
    kid: str | None
    match_no: str
    due_date: date
    is_credit_note: bool


@dataclass(frozen=True)
class Plan:
    customer_id: int
    allocations: tuple[tuple[int, Decimal], ...]  # (post id, amount)
    credit: Decimal  # the overpayment, kept as a credit on the customer


def canonical_kid(kid: str, kid_length: int) -> str:
    return kid.rjust(kid_length, "0") if len(kid) <= kid_length else kid


def kid_variants(kid: str, kid_length: int) -> set[str]:
    """Every stored KID that rule 1 or 2 would accept for ``kid`` (for one IN query)."""
    canonical = canonical_kid(kid, kid_length)
    variants = {kid}
    if len(canonical) == kid_length:
        zeros = len(canonical) - len(canonical.lstrip("0"))
        variants.update(canonical[i:] for i in range(zeros + 1) if len(canonical) - i >= 2)
    return variants


def posts_for_kid(kid: str, kid_length: int, by_kid: Mapping[str, Sequence[Candidate]]) -> list[Candidate]:
    exact = list(by_kid.get(kid, ()))
    if exact:
        return exact
    canonical = canonical_kid(kid, kid_length)
    found: list[Candidate] = []
    for variant in sorted(kid_variants(kid, kid_length)):
        found.extend(p for p in by_kid.get(variant, ()) if p.kid and canonical_kid(p.kid, kid_length) == canonical)
    return found


def words(texts: Iterable[str | None]) -> list[str]:
    """The words of the free text that could be a match number: with a digit, 2–40 characters."""
    found: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text or ""):
            word = word.strip("-/_")
            if MIN_TOKEN <= len(word) <= MAX_TOKEN and any(c.isdigit() for c in word):
                found[word] = None
                if len(found) >= MAX_TOKENS:
                    return list(found)
    return list(found)


def plan(amount: Decimal, posts: Sequence[Candidate], open_amounts: dict[int, Decimal]) -> Plan | None:
    """Spread ``amount`` over ``posts`` (one customer), oldest first; None when the posts are ambiguous.

    ``open_amounts`` is updated, so that the next payment of the same file sees what this one took.
    """
    if amount <= 0:
        return None
    invoices = [p for p in posts if not p.is_credit_note]
    customers = {p.customer_id for p in invoices}
    if len(customers) != 1:
        return None
    left = amount
    allocations: list[tuple[int, Decimal]] = []
    for post in sorted(dict.fromkeys(invoices), key=lambda p: (p.due_date, p.id)):
        open_amount = open_amounts.get(post.id, Decimal(0))
        if left <= 0:
            break
        if open_amount <= 0:
            continue
        part = min(left, open_amount)
        allocations.append((post.id, part))
        open_amounts[post.id] = open_amount - part
        left -= part
    return Plan(customer_id=customers.pop(), allocations=tuple(allocations), credit=left)
