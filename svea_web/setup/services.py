"""Setup use cases: Oppsett Svea, Oppsett purre/rente, Bestill Svea tilgang, the dated fee/rate tables.

Interfaces other features use:
- ``svea_settings(client_id)`` / ``dunning_settings(client_id)``: the firm's settings (made with
  defaults on first use).
- ``svea_client_for(client_id)``: a SveaClient with the firm's stored credentials, or SveaNotConfigured.
- ``setup_problems(client_id)``: why Svea actions must not run now (Norwegian messages); empty when
  Oppsett Svea is complete and agrees with Oppsett purre/rente.
- ``figure_table(kind)``: an admin-edited dated table (fees, interest rates) for svea_web.rules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from flask import current_app, has_request_context
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from svea_web import audit
from svea_web.accounts.models import Client, User
from svea_web.crypto import SecretUnreadable, decrypt_secret, encrypt_secret, rotate_secret
from svea_web.extensions import db
from svea_web.ledger.models import CustomerPost
from svea_web.mail import services as mail_services
from svea_web.models_base import utcnow
from svea_web.rules import figures
from svea_web.rules.dunning import MIN_DEADLINE_DAYS
from svea_web.rules.figures import DatedValue
from svea_web.rules.kid import KID_MAX_LENGTH, KID_MIN_LENGTH, pad_kid
from svea_web.setup.models import (
    LEVEL_INKASSO,
    LEVEL_PURRING,
    ORDER_ADDRESS_CHANGE,
    ORDER_AGREEMENT,
    AccessOrder,
    DunningSettings,
    FigureRow,
    SveaSettings,
)
from svea_web.svea import SveaClient, SveaError
from svea_web.svea.errors import SveaAuthError, SveaUnavailable

log = logging.getLogger(__name__)

M = TypeVar("M", SveaSettings, DunningSettings)


def _t(msgid: str, **values: Any) -> str:
    """Translated in a request; the Norwegian msgid in a job, where no user language is chosen."""
    if has_request_context():
        return gettext(msgid, **values)
    return msgid % values if values else msgid


# --- settings -------------------------------------------------------------------------------------


def _get_or_create(model: type[M], client_id: int) -> M:
    found = db.session.get(model, client_id)
    if found is not None:
        return found
    created = model(client_id=client_id)
    try:
        # A savepoint: a concurrent request that made the row first must not undo the caller's work.
        with db.session.begin_nested():
            db.session.add(created)
    except IntegrityError:
        found = db.session.get(model, client_id)
        if found is None:
            raise
        return found
    return created


def svea_settings(client_id: int) -> SveaSettings:
    """The firm's Oppsett Svea, made with the defaults on first use."""
    return _get_or_create(SveaSettings, client_id)


def dunning_settings(client_id: int) -> DunningSettings:
    """The firm's Oppsett purre/rente, made with the defaults on first use."""
    return _get_or_create(DunningSettings, client_id)


def has_agreement(settings: SveaSettings) -> bool:
    return bool(settings.has_agreement or settings.is_configured)


def _unreadable_password() -> str:
    return _t("Det lagrede Svea-passordet kan ikke leses med krypteringsnøklene appen har nå. Legg det inn på nytt.")


class SveaNotConfigured(LookupError):
    """Oppsett Svea lacks kundenummer, brukernavn or passord, or the stored passord cannot be read."""


def _missing_credentials(settings: SveaSettings | None) -> list[str]:
    if settings is None:
        return ["kundenummer", "brukernavn", "passord"]
    names = (("kundenummer", settings.customer_no), ("brukernavn", settings.username))
    missing = [name for name, value in names if not value]
    if not settings.password_encrypted:
        missing.append("passord")
    return missing


def svea_client_for(client_id: int, **options: Any) -> SveaClient:
    """A SveaClient with the firm's stored credentials; ``options`` override the timeouts and retries."""
    settings = db.session.get(SveaSettings, client_id)
    missing = _missing_credentials(settings)
    if settings is None or missing:
        raise SveaNotConfigured(_t("Oppsett Svea mangler %(fields)s.", fields=", ".join(missing)))
    assert settings.customer_no and settings.username and settings.password_encrypted
    try:
        password = decrypt_secret(settings.password_encrypted)
    except SecretUnreadable as error:
        raise SveaNotConfigured(_unreadable_password()) from error
    config = current_app.config
    kwargs: dict[str, Any] = {
        "connect_timeout": float(config.get("SVEA_CONNECT_TIMEOUT", 5.0)),
        "read_timeout": float(config.get("SVEA_READ_TIMEOUT", 30.0)),
        "get_attempts": int(config.get("SVEA_GET_ATTEMPTS", 4)),
        "backoff_seconds": float(config.get("SVEA_BACKOFF_SECONDS", 0.5)),
    }
    kwargs.update(options)
    return SveaClient(
        settings.base_url or config["SVEA_BASE_URL"], settings.customer_no, settings.username, password, **kwargs
    )


def consistency_problems(svea: SveaSettings, dunning: DunningSettings) -> list[str]:
    """Where Oppsett Svea and Oppsett purre/rente contradict each other (the reference help page:
    when Svea runs the reminders, reminders and collection notices must be off in the app)."""
    problems: list[str] = []
    if svea.handover_level == LEVEL_PURRING:
        if dunning.in_app_steps > 0:
            problems.append(
                _t(
                    "Nivå Purring: Svea sender purringene, men Oppsett purre/rente har %(n)s purretrinn i appen. "
                    "Purretrinn i appen må være 0.",
                    n=dunning.in_app_steps,
                )
            )
        if dunning.notice_enabled:
            problems.append(
                _t("Nivå Purring: Svea sender inkassovarselet, men inkassovarsel i appen er slått på. Slå det av.")
            )
    return problems


def setup_problems(client_id: int) -> list[str]:
    """Why Svea actions must not run for the firm now; empty when they may."""
    svea = db.session.get(SveaSettings, client_id)
    missing = _missing_credentials(svea)
    problems: list[str] = []
    if missing:
        problems.append(_t("Oppsett Svea mangler %(fields)s.", fields=", ".join(missing)))
    elif svea is not None and svea.password_encrypted:
        try:
            decrypt_secret(svea.password_encrypted)
        except SecretUnreadable:
            problems.append(_unreadable_password())
    dunning = db.session.get(DunningSettings, client_id) or DunningSettings(in_app_steps=0, notice_enabled=False)
    if svea is not None:
        problems.extend(consistency_problems(svea, dunning))
    return problems


def recommendations(svea: SveaSettings) -> list[str]:
    """Advice from the reference help page that does not stop anything."""
    if svea.handover_level == LEVEL_PURRING and svea.group_by_customer:
        return [_t("Svea anbefaler ikke Gruppere poster når Svea skal kjøre purring (nivå Purring).")]
    return []


@dataclass(frozen=True)
class SveaSettingsInput:
    customer_no: str
    username: str
    new_password: str | None  # None or "": keep the stored one
    handover_level: str
    kid_length: int
    group_by_customer: bool


def save_svea_settings(client_id: int, user_id: int | None, data: SveaSettingsInput) -> SveaSettings:
    if data.handover_level not in (LEVEL_PURRING, LEVEL_INKASSO):
        raise ValueError(f"unknown level {data.handover_level!r}")
    settings = svea_settings(client_id)
    changed = []
    for field in ("customer_no", "username", "handover_level", "kid_length", "group_by_customer"):
        value = getattr(data, field)
        if getattr(settings, field) != value:
            changed.append(field)
            setattr(settings, field, value)
    if data.new_password:
        settings.password_encrypted = encrypt_secret(data.new_password)
        settings.password_changed_at = utcnow()
        changed.append("password")
    if settings.is_configured:
        settings.has_agreement = True
    if changed:
        # Names of the changed fields only: the audit trail never holds the password.
        audit.record(client_id, "setup.svea_saved", "svea_settings", client_id, ", ".join(changed), user_id)
    db.session.commit()
    return settings


@dataclass(frozen=True)
class DunningSettingsInput:
    in_app_steps: int
    days_between: int
    fee_enabled: bool
    interest_enabled: bool
    notice_enabled: bool
    min_amount: Decimal
    offer_after_days: int


def save_dunning_settings(client_id: int, user_id: int | None, data: DunningSettingsInput) -> DunningSettings:
    if data.days_between < MIN_DEADLINE_DAYS:
        raise ValueError(f"days_between must be at least {MIN_DEADLINE_DAYS}")
    settings = dunning_settings(client_id)
    changed = []
    for field in DunningSettingsInput.__dataclass_fields__:
        value = getattr(data, field)
        if getattr(settings, field) != value:
            changed.append(f"{field}={value}")
            setattr(settings, field, value)
    if changed:
        audit.record(client_id, "setup.dunning_saved", "dunning_settings", client_id, ", ".join(changed), user_id)
    db.session.commit()
    return settings


FIX_DUNNING_OFF = "dunning_off"  # keep level Purring, turn the app's reminders and notice off
FIX_LEVEL_INKASSO = "level_inkasso"  # keep the app's reminders, hand over at level Inkasso
FIXES = (FIX_DUNNING_OFF, FIX_LEVEL_INKASSO)


def fix_consistency(client_id: int, user_id: int | None, how: str) -> None:
    svea, dunning = svea_settings(client_id), dunning_settings(client_id)
    if how == FIX_DUNNING_OFF:
        dunning.in_app_steps = 0
        dunning.notice_enabled = False
    elif how == FIX_LEVEL_INKASSO:
        svea.handover_level = LEVEL_INKASSO
    else:
        raise ValueError(f"unknown fix {how!r}")
    audit.record(client_id, "setup.consistency_fixed", "svea_settings", client_id, how, user_id)
    db.session.commit()


def rotate_secrets() -> int:
    """Re-encrypt every stored Svea password under the newest key (the first of ENCRYPTION_KEYS).

    After this, the older keys can be taken out of the configuration.
    """
    count = 0
    for settings in db.session.scalars(select(SveaSettings).where(SveaSettings.password_encrypted.is_not(None))):
        assert settings.password_encrypted
        settings.password_encrypted = rotate_secret(settings.password_encrypted)
        count += 1
    db.session.commit()
    return count


# --- Test connection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    detail: str | None = None


def check_connection(client_id: int) -> ConnectionResult:
    """Ping Svea with the stored credentials: one attempt, short timeouts (a person is waiting)."""
    try:
        client = svea_client_for(client_id, get_attempts=1, connect_timeout=5.0, read_timeout=10.0)
    except SveaNotConfigured as error:
        return ConnectionResult(False, str(error))
    with client:
        try:
            pong = client.ping()
        except SveaAuthError as error:
            return ConnectionResult(
                False,
                _t("Svea avviste kundenummer, brukernavn eller passord (HTTP %(status)s).", status=error.status),
                error.message,
            )
        except SveaUnavailable as error:
            return ConnectionResult(
                False, _t("Fikk ikke svar fra Svea på %(url)s.", url=client.base_url), error.message
            )
        except SveaError as error:
            return ConnectionResult(False, _t("Uventet svar fra Svea."), error.message)
    return ConnectionResult(
        True,
        _t(
            "Tilkoblingen virker. Svea kjenner kundenummer %(no)s (%(name)s).",
            no=pong.customer_no,
            name=pong.creditor_name,
        ),
    )


# --- KID length ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KidReport:
    kid_length: int
    longest: int  # the longest KID on the firm's posts, 0 without KIDs
    too_long: int  # posts whose KID is longer than kid_length
    examples: tuple[tuple[str, str], ...]  # (KID as imported, KID as sent to Svea)


def kid_report(client_id: int, kid_length: int) -> KidReport:
    """How the firm's KIDs fit the KID length: how many are too long, and how short ones are padded."""
    if not KID_MIN_LENGTH <= kid_length <= KID_MAX_LENGTH:
        raise ValueError(f"KID length must be {KID_MIN_LENGTH}-{KID_MAX_LENGTH}")
    length = func.length(CustomerPost.kid)
    has_kid = (CustomerPost.client_id == client_id) & CustomerPost.kid.is_not(None) & (CustomerPost.kid != "")
    longest = db.session.scalar(select(func.max(length)).where(has_kid)) or 0
    too_long = db.session.scalar(select(func.count()).where(has_kid, length > kid_length)) or 0
    samples = db.session.scalars(
        select(CustomerPost.kid).where(has_kid, length <= kid_length).order_by(length, CustomerPost.id).limit(2)
    ).all()
    examples = tuple((kid, pad_kid(kid, kid_length)) for kid in samples if kid)
    return KidReport(kid_length, int(longest), int(too_long), examples)


# --- Bestill Svea tilgang ----------------------------------------------------------------------


def agency_email() -> str:
    return str(current_app.config.get("SVEA_AGENCY_EMAIL") or "hamar@sveafinans.no")


@dataclass(frozen=True)
class FirmDetails:
    name: str
    org_no: str
    address: str
    postcode: str
    city: str


@dataclass(frozen=True)
class ContactPerson:
    name: str
    email: str
    phone: str


def _format_org_no(org_no: str) -> str:
    return f"{org_no[:3]} {org_no[3:6]} {org_no[6:]}" if len(org_no) == 9 else org_no


# The agency reads Norwegian: the mail text is fixed, whatever language the user runs the app in.
_ORDER_BODY = """Hei,

{firm} ønsker avtale med Svea Finans om purre- og inkassotjenester, og bekrefter å ha lest
avtalen om purre- og inkassotjenester ({accepted}).

Firma
  Navn:                {firm}
  Organisasjonsnummer: {org_no}
  Adresse:             {address}
  Postnummer og sted:  {postcode} {city}

Kontaktperson
  Navn:    {contact_name}
  E-post:  {contact_email}
  Telefon: {contact_phone}

Send kundenummer, brukernavn og passord for integrasjonen til kontaktpersonen.

Bestilt av {user} {created} via svea_web.
"""

_ADDRESS_BODY = """Hei,

{firm} (organisasjonsnummer {org_no}) har avtale med Svea Finans og har fått ny firmaadresse.

Ny adresse
  {address}
  {postcode} {city}
{customer_no_line}
Kontaktperson
  Navn:    {contact_name}
  E-post:  {contact_email}
  Telefon: {contact_phone}

Meldt av {user} {created} via svea_web.
"""


def _oslo_time(order: AccessOrder) -> str:
    from datetime import UTC

    from svea_web.clock import OSLO

    return order.created_at.replace(tzinfo=UTC).astimezone(OSLO).strftime("%d.%m.%Y kl. %H:%M")


def _compose(order: AccessOrder, user: User | None, customer_no: str | None) -> tuple[str, str]:
    values = {
        "firm": order.firm_name,
        "org_no": _format_org_no(order.org_no),
        "address": order.address,
        "postcode": order.postcode,
        "city": order.city,
        "contact_name": order.contact_name,
        "contact_email": order.contact_email,
        "contact_phone": order.contact_phone,
        "user": f"{user.name} <{user.email}>" if user else "svea_web",
        "created": _oslo_time(order),
        "accepted": "bekreftet " + _oslo_time(order),
        "customer_no_line": f"\nKundenummer hos Svea: {customer_no}\n" if customer_no else "",
    }
    if order.kind == ORDER_AGREEMENT:
        subject = f"Bestilling av avtale om purre- og inkassotjenester – {order.firm_name} ({values['org_no']})"
        return subject, _ORDER_BODY.format_map(values)
    subject = f"Ny firmaadresse – {order.firm_name} ({values['org_no']})"
    return subject, _ADDRESS_BODY.format_map(values)


def order_by_token(client_id: int, token: str) -> AccessOrder | None:
    return db.session.scalar(
        select(AccessOrder).where(AccessOrder.client_id == client_id, AccessOrder.request_token == token)
    )


def _place_order(
    client_id: int,
    user_id: int | None,
    kind: str,
    firm: FirmDetails,
    contact: ContactPerson,
    token: str,
    accepted: bool,
) -> tuple[AccessOrder, bool]:
    existing = order_by_token(client_id, token)
    if existing is not None:
        return existing, False
    settings = svea_settings(client_id)
    order = AccessOrder(
        client_id=client_id,
        kind=kind,
        request_token=token,
        firm_name=firm.name,
        org_no=firm.org_no,
        address=firm.address,
        postcode=firm.postcode,
        city=firm.city,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_phone=contact.phone,
        agreement_accepted_at=utcnow() if accepted else None,
        agency_email=agency_email(),
        created_by_id=user_id,
        created_at=utcnow(),
    )
    db.session.add(order)
    try:
        db.session.flush()
        user = db.session.get(User, user_id) if user_id else None
        subject, body = _compose(order, user, settings.customer_no if kind == ORDER_ADDRESS_CHANGE else None)
        order.mail = mail_services.queue_mail(
            client_id,
            order.agency_email,
            subject,
            body,
            purpose=f"svea_{kind}",
            object_type="access_order",
            object_id=order.id,
            dedupe_key=f"access-order:{token}",
            reply_to=contact.email,
        )
        if kind == ORDER_ADDRESS_CHANGE:
            settings.address_notice_due = False
        audit.record(client_id, f"setup.order_{kind}", "access_order", order.id, order.agency_email, user_id)
        db.session.commit()
    except IntegrityError:
        # The same dialog submitted twice at once: the other request saved it first.
        db.session.rollback()
        existing = order_by_token(client_id, token)
        if existing is None:
            raise
        return existing, False
    assert order.mail_id is not None
    mail_services.enqueue_send(order.mail_id)
    return order, True


def _update_client(client: Client, firm: FirmDetails) -> bool:
    """Store the firm's details; True when its address changed."""
    before = (client.address, client.postcode, client.city)
    client.name, client.org_no = firm.name, firm.org_no
    client.address, client.postcode, client.city = firm.address, firm.postcode, firm.city
    return before != (client.address, client.postcode, client.city)


def place_access_order(
    client_id: int, user_id: int | None, firm: FirmDetails, contact: ContactPerson, token: str
) -> tuple[AccessOrder, bool]:
    """Save the order and queue the e-mail to the agency; (order, False) when this token was used already.

    The details the user confirmed also become the firm's own details.
    """
    if order_by_token(client_id, token) is None:
        client = db.session.get(Client, client_id)
        assert client is not None
        _update_client(client, firm)
    return _place_order(client_id, user_id, ORDER_AGREEMENT, firm, contact, token, accepted=True)


def save_firm_details(client_id: int, user_id: int | None, firm: FirmDetails, email: str, phone: str) -> bool:
    """Update the firm's details; True when the address changed while the firm has a Svea agreement
    (then Svea must be told, and the page offers to send the new address)."""
    client = db.session.get(Client, client_id)
    assert client is not None
    moved = _update_client(client, firm)
    client.email, client.phone = email or None, phone or None
    settings = svea_settings(client_id)
    notify = moved and has_agreement(settings)
    if notify:
        settings.address_notice_due = True
    audit.record(client_id, "setup.firm_saved", "client", client_id, "address changed" if moved else None, user_id)
    db.session.commit()
    return notify


def last_contact(client_id: int) -> ContactPerson | None:
    order = db.session.scalar(
        select(AccessOrder).where(AccessOrder.client_id == client_id).order_by(AccessOrder.id.desc()).limit(1)
    )
    if order is None:
        return None
    return ContactPerson(order.contact_name, order.contact_email, order.contact_phone)


def send_address_change(
    client_id: int, user_id: int | None, contact: ContactPerson, token: str
) -> tuple[AccessOrder, bool]:
    """E-mail the firm's current address to the agency (the reference help page says this must be done)."""
    client = db.session.get(Client, client_id)
    assert client is not None
    firm = FirmDetails(client.name, client.org_no or "", client.address or "", client.postcode or "", client.city or "")
    return _place_order(client_id, user_id, ORDER_ADDRESS_CHANGE, firm, contact, token, accepted=False)


def dismiss_address_notice(client_id: int, user_id: int | None) -> None:
    """The user told Svea some other way."""
    svea_settings(client_id).address_notice_due = False
    audit.record(client_id, "setup.address_notice_dismissed", "svea_settings", client_id, None, user_id)
    db.session.commit()


def recent_orders(client_id: int, limit: int = 10) -> Sequence[AccessOrder]:
    return db.session.scalars(
        select(AccessOrder)
        .where(AccessOrder.client_id == client_id)
        .order_by(AccessOrder.created_at.desc(), AccessOrder.id.desc())
        .limit(limit)
    ).all()


def resend_order(client_id: int, order_id: int) -> AccessOrder:
    order = db.session.scalar(select(AccessOrder).where(AccessOrder.client_id == client_id, AccessOrder.id == order_id))
    if order is None or order.mail_id is None:
        raise LookupError(f"no access order {order_id}")
    mail_services.resend(order.mail_id, client_id)
    return order


# --- dated tables of fees and rates --------------------------------------------------------------

# The names for the tables; svea_web.rules.figures names them in the plural.
KIND_ALIASES: Mapping[str, str] = {
    "reminder_fee": figures.REMINDER_FEES,
    "payment_demand_fee": figures.PAYMENT_DEMAND_FEES,
    "late_interest_rate": figures.LATE_INTEREST_RATES,
}
FIGURE_KINDS = tuple(figures.DEFAULT_TABLES)


def figure_kind(kind: str) -> str:
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in figures.DEFAULT_TABLES:
        raise KeyError(f"unknown figure table {kind!r}; one of {', '.join(FIGURE_KINDS)}")
    return kind


def _seed(kind: str) -> None:
    rows = [
        FigureRow(
            kind=kind,
            valid_from=row.valid_from,
            value=row.value,
            unconfirmed=(kind, row.valid_from) in figures.UNCONFIRMED,
        )
        for row in figures.DEFAULT_TABLES[kind]
    ]
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
    except IntegrityError:
        # Another process seeded the table at the same moment; its rows are the same defaults.
        log.info("figure table %s was seeded concurrently", kind)


def figure_rows(kind: str) -> list[FigureRow]:
    """The table's rows, oldest first. Reading never writes: an emptied table reads as the defaults
    (rows without ids, not added to the session); the first edit stores them."""
    kind = figure_kind(kind)
    rows = list(db.session.scalars(_figure_query(kind)))
    if rows:
        return rows
    return [
        FigureRow(
            kind=kind, valid_from=r.valid_from, value=r.value, unconfirmed=(kind, r.valid_from) in figures.UNCONFIRMED
        )
        for r in figures.DEFAULT_TABLES[kind]
    ]


def _figure_query(kind: str) -> Any:
    return select(FigureRow).where(FigureRow.kind == kind).order_by(FigureRow.valid_from)


def _ensure_seeded(kind: str) -> None:
    if db.session.scalar(_figure_query(kind).limit(1)) is None:
        _seed(kind)


def figure_table(kind: str) -> tuple[DatedValue, ...]:
    """The dated table ``kind`` (figures.REMINDER_FEES, ... or the aliases in KIND_ALIASES) as the rules take it."""
    return tuple(DatedValue(row.valid_from, Decimal(row.value)) for row in figure_rows(kind))


class FigureError(ValueError):
    """An edit the table cannot take (message for the user)."""


def add_figure(kind: str, valid_from: date, value: Decimal, user_id: int | None, client_id: int | None) -> FigureRow:
    kind = figure_kind(kind)
    _ensure_seeded(kind)
    if db.session.scalar(select(FigureRow).where(FigureRow.kind == kind, FigureRow.valid_from == valid_from)):
        raise FigureError(_t("Det finnes allerede en sats fra %(day)s.", day=valid_from.strftime("%d.%m.%Y")))
    row = FigureRow(kind=kind, valid_from=valid_from, value=value, unconfirmed=False, updated_by_id=user_id)
    db.session.add(row)
    db.session.flush()
    audit.record(client_id, "setup.figure_added", "figure_row", row.id, f"{kind} {valid_from} {value}", user_id)
    db.session.commit()
    return row


def _figure(row_id: int) -> FigureRow:
    row = db.session.get(FigureRow, row_id)
    if row is None:
        raise LookupError(f"no figure row {row_id}")
    return row


def update_figure(row_id: int, value: Decimal, user_id: int | None, client_id: int | None) -> FigureRow:
    """A new value for a row; the admin has checked it, so it is no longer marked unconfirmed."""
    row = _figure(row_id)
    old = row.value
    row.value, row.unconfirmed, row.updated_by_id = value, False, user_id
    audit.record(
        client_id,
        "setup.figure_changed",
        "figure_row",
        row.id,
        f"{row.kind} {row.valid_from} {old} -> {value}",
        user_id,
    )
    db.session.commit()
    return row


def confirm_figure(row_id: int, user_id: int | None, client_id: int | None) -> FigureRow:
    row = _figure(row_id)
    row.unconfirmed, row.updated_by_id = False, user_id
    audit.record(
        client_id, "setup.figure_confirmed", "figure_row", row.id, f"{row.kind} {row.valid_from} {row.value}", user_id
    )
    db.session.commit()
    return row


def delete_figure(row_id: int, user_id: int | None, client_id: int | None) -> None:
    row = _figure(row_id)
    count = db.session.scalar(select(func.count()).where(FigureRow.kind == row.kind)) or 0
    if count <= 1:
        raise FigureError(_t("Tabellen må ha minst én sats."))
    audit.record(
        client_id, "setup.figure_deleted", "figure_row", row.id, f"{row.kind} {row.valid_from} {row.value}", user_id
    )
    db.session.delete(row)
    db.session.commit()
