"""Realistic demo data for one client firm: ~200 customers and ~1,000 posts, seeded and repeatable."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from stdnum.no import fodselsnummer, orgnr

from svea_web.accounts import services as accounts
from svea_web.accounts.models import ROLE_ADMIN, Client, User
from svea_web.crypto import encrypt_secret
from svea_web.dunning.models import LetterSettings
from svea_web.extensions import db
from svea_web.ledger.models import (
    KIND_COMPANY,
    KIND_PERSON,
    POST_CREDIT_NOTE,
    POST_INVOICE,
    STATUS_OPEN,
    STATUS_PAID,
    Customer,
    CustomerPost,
)
from svea_web.models_base import utcnow
from svea_web.rules.kid import make_kid, mod11_check_digit
from svea_web.setup.models import DunningSettings, SveaSettings

DEMO_EMAIL = "demo@svea-web.no"
DEMO_PASSWORD = "demo-passord-2026"  # noqa: S105 - the printed demo login, documented in the README
# Agreed with the sandbox's demo creditor (svea_web/sandbox, --demo).
DEMO_SVEA_CUSTOMER_NO = "10042"
DEMO_SVEA_USERNAME = "demo-regnskap"
DEMO_SVEA_PASSWORD = "sandbox-2026"  # noqa: S105 - the sandbox's public demo creditor

FIRST = [
    "Ola",
    "Kari",
    "Per",
    "Ingrid",
    "Lars",
    "Marit",
    "Jon",
    "Silje",
    "Eirik",
    "Nora",
    "Håkon",
    "Sigrid",
    "Bjørn",
    "Åse",
    "Øystein",
    "Tone",
    "Magnus",
    "Hanne",
    "Trond",
    "Liv",
]
LAST = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Dahl",
    "Lie",
    "Sæther",
]
COMPANY_WORDS = [
    "Fjord",
    "Nordlys",
    "Bergen",
    "Vestland",
    "Trønder",
    "Havgull",
    "Fjell",
    "Skog",
    "Elv",
    "Polar",
    "Kyst",
    "Midnatt",
    "Lofoten",
    "Viken",
    "Rogaland",
]
COMPANY_KINDS = [
    "Bygg AS",
    "Rør AS",
    "Transport AS",
    "Regnskap AS",
    "Elektro AS",
    "Maskin AS",
    "Catering AS",
    "Eiendom AS",
    "Data AS",
    "Maling AS",
]
STREETS = [
    "Storgata",
    "Kirkegata",
    "Strandveien",
    "Skolegata",
    "Parkveien",
    "Industriveien",
    "Torget",
    "Bakkeveien",
]
PLACES = [
    ("0150", "OSLO"),
    ("5003", "BERGEN"),
    ("7011", "TRONDHEIM"),
    ("4006", "STAVANGER"),
    ("9008", "TROMSØ"),
    ("2317", "HAMAR"),
    ("3015", "DRAMMEN"),
    ("1607", "FREDRIKSTAD"),
    ("8006", "BODØ"),
    ("6002", "ÅLESUND"),
]


@dataclass
class DemoLogin:
    email: str
    password: str
    client: Client


def _org_no(rng: random.Random) -> str:
    while True:
        # Organisation numbers use MOD11 with the same weights as a MOD11 KID.
        base = str(rng.randint(80000000, 99999999))
        check = mod11_check_digit(base)
        if check != "-" and orgnr.is_valid(base + check):
            return base + check


def _national_id(rng: random.Random) -> str | None:
    for _ in range(50):
        day = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 50))
        individual = rng.randint(0, 499) if day.year < 2000 else rng.randint(500, 999)
        base = day.strftime("%d%m%y") + f"{individual:03d}"
        first = fodselsnummer.calc_check_digit1(base)
        candidate = base + first + fodselsnummer.calc_check_digit2(base + first)
        if fodselsnummer.is_valid(candidate):
            return candidate
    return None


def build_rows(
    today: date, customers: int = 200, posts: int = 1000, seed: int = 2026
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Customer and post rows (without ids), so a benchmark can reuse them at any size."""
    rng = random.Random(seed)
    customer_rows: list[dict[str, Any]] = []
    for n in range(1, customers + 1):
        postcode, city = rng.choice(PLACES)
        is_company = rng.random() < 0.45
        if is_company:
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            slug = name.split()[0].lower().replace("ø", "o").replace("å", "a").replace("æ", "ae")
            email = f"post{n}@{slug}.example.no"
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            name = f"{first} {last}"
            email = f"{first.lower()}.{last.lower()}{n}@example.no".replace("ø", "o").replace("å", "a")
        customer_rows.append(
            {
                "customer_no": str(10000 + n),
                "name": name,
                "kind": KIND_COMPANY if is_company else KIND_PERSON,
                "org_no": _org_no(rng) if is_company else None,
                "national_id": None if is_company or rng.random() < 0.3 else _national_id(rng),
                "address": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                "postcode": postcode,
                "city": city,
                "email": email if rng.random() < 0.8 else None,
                "phone": f"9{rng.randint(1000000, 9999999)}",
            }
        )
    post_rows: list[dict[str, Any]] = []
    for n in range(1, posts + 1):
        customer_index = rng.randrange(customers)
        invoice_no = str(100000 + n)
        invoice_date = today - timedelta(days=rng.randint(0, 260))
        due_date = invoice_date + timedelta(days=rng.choice([10, 14, 14, 20, 30]))
        amount = Decimal(rng.randint(250_00, 45_000_00)) / 100
        roll = rng.random()
        kind = POST_INVOICE
        if roll < 0.04:
            kind = POST_CREDIT_NOTE
            amount = -amount.quantize(Decimal("1"))
            open_amount = amount
        elif due_date < today and roll < 0.55:
            open_amount = Decimal("0")  # paid
        elif roll < 0.62:
            open_amount = (amount * Decimal(rng.choice(["0.5", "0.25", "0.8"]))).quantize(Decimal("0.01"))
        else:
            open_amount = amount
        # KIDs built from customer and invoice number, zero-padded: many start with zeros.
        payload = f"{customer_index + 1:07d}{n:06d}"
        kid = make_kid(payload, "MOD10" if n % 3 else "MOD11")
        post_rows.append(
            {
                "customer_index": customer_index,
                "kind": kind,
                "invoice_no": invoice_no,
                "match_no": invoice_no,
                "kid": kid,
                "invoice_date": invoice_date,
                "due_date": due_date,
                "amount": amount,
                "open_amount": open_amount,
                "status": STATUS_OPEN if open_amount != 0 else STATUS_PAID,
                "text": "Kreditnota" if kind == POST_CREDIT_NOTE else "Faktura",
            }
        )
    return customer_rows, post_rows


def insert_ledger(client_id: int, today: date, customers: int, posts: int, seed: int = 2026) -> None:
    customer_rows, post_rows = build_rows(today, customers, posts, seed)
    now = utcnow()
    db.session.execute(
        insert(Customer),
        [{**row, "client_id": client_id, "created_at": now, "updated_at": now} for row in customer_rows],
    )
    ids = dict(
        db.session.execute(select(Customer.customer_no, Customer.id).where(Customer.client_id == client_id)).all()
    )
    by_index = [ids[row["customer_no"]] for row in customer_rows]
    rows = []
    for row in post_rows:
        data = {k: v for k, v in row.items() if k != "customer_index"}
        rows.append(
            {
                **data,
                "customer_id": by_index[row["customer_index"]],
                "client_id": client_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(CustomerPost), rows[start : start + 5000])


def _demo_svea_settings(client_id: int, level: str, group_by_customer: bool, base_url: str | None) -> SveaSettings:
    """Both demo firms use the sandbox's demo creditor."""
    return SveaSettings(
        client_id=client_id,
        customer_no=DEMO_SVEA_CUSTOMER_NO,
        username=DEMO_SVEA_USERNAME,
        password_encrypted=encrypt_secret(DEMO_SVEA_PASSWORD),
        handover_level=level,
        kid_length=25,
        group_by_customer=group_by_customer,
        base_url=base_url,
        has_agreement=True,
    )


def seed_demo(today: date, svea_base_url: str | None = None) -> DemoLogin:
    """Create the demo firm, its admin user, the ledger and Svea settings, once."""
    existing = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if existing is not None:
        client = existing.memberships[0].client
        return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, client)
    user = accounts.create_user(DEMO_EMAIL, "Demo Regnskapsfører", DEMO_PASSWORD)
    # The demo runs alone on a laptop: its user is also the operator (figure tables, job dashboard).
    user.is_operator = True
    client = accounts.create_client(
        "Nordlys Rørlegger AS",
        org_no="923609016",
        address="Strandkaien 12",
        postcode="5013",
        city="BERGEN",
        email="post@nordlys-ror.example.no",
        phone="55123456",
    )
    second = accounts.create_client("Vestkyst Catering AS", org_no="987654325", city="HAMAR", postcode="2317")
    accounts.add_member(user, client, ROLE_ADMIN)
    accounts.add_member(user, second, ROLE_ADMIN)
    insert_ledger(client.id, today, customers=200, posts=1000)
    insert_ledger(second.id, today, customers=20, posts=60, seed=7)
    db.session.add(_demo_svea_settings(client.id, "purring", group_by_customer=False, base_url=svea_base_url))
    db.session.add(DunningSettings(client_id=client.id))
    # The second firm runs its own reminders before Svea takes over collection (level Inkasso).
    db.session.add(_demo_svea_settings(second.id, "inkasso", group_by_customer=True, base_url=svea_base_url))
    db.session.add(
        DunningSettings(
            client_id=second.id,
            in_app_steps=2,
            notice_enabled=True,
            fee_enabled=True,
            interest_enabled=True,
            min_amount=Decimal("100"),
        )
    )
    db.session.add(LetterSettings(client_id=second.id, account_no="86011117947"))
    db.session.commit()
    return DemoLogin(DEMO_EMAIL, DEMO_PASSWORD, client)
