"""Two client firms with data in every table, each row's text carrying the firm's marker.

The rows are made the way users make them where that is cheap and needs no outside server (CSV
import, reminder run with its letters and e-mails, payment file, access order), and directly as
models where the real flow would talk to Svea (cases, their history, settlements). A table that no
builder here knows gets a generic row (``fill_missing_tables``), so that a new model is walked by
the security tests from the day it lands.

Every id made for a firm is kept in ``FirmWorld.ids`` by model, so the walkers can put one firm's
ids into another firm's session.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, LargeBinary, Numeric, String, Text, func, select
from sqlalchemy.orm import Mapper

from svea_web.accounts import services as accounts
from svea_web.accounts.models import ROLE_ADMIN, ROLE_USER, Client, Membership, User
from svea_web.audit import record
from svea_web.collection.models import CaseEvent, CaseMessage, CasePost, Dispatch, SveaCase, SyncState
from svea_web.dunning import services as dunning
from svea_web.extensions import db
from svea_web.jobs_queue import create_group, enqueue
from svea_web.ledger import services as ledger
from svea_web.ledger.models import POST_INVOICE, STATUS_OPEN, STATUS_PAID, Customer, CustomerPost
from svea_web.mail.models import MailAttachment, OutgoingMail
from svea_web.payments import jobs as payment_jobs
from svea_web.payments import ocr
from svea_web.payments import services as payments
from svea_web.payments.models import (
    DirectPaymentReport,
    Payment,
    PaymentAllocation,
    PaymentImport,
    Settlement,
    SettlementLine,
)
from svea_web.setup import services as setup
from svea_web.setup.models import FigureRow

TODAY = date(2026, 11, 27)
PASSWORD = "riktig-hest-batteri-stift"
# A Norwegian account number with a valid MOD11 check digit (printed on the reminder letters).
ACCOUNT_NO = "86011117947"
# Nothing listens here: a job that calls Svea fails at once instead of reaching someone's sandbox.
CLOSED_SVEA_URL = "http://127.0.0.1:9"


@dataclass
class FirmWorld:
    """One firm's made data, as plain values (the session that made it is long gone)."""

    client_id: int
    name: str
    tag: str
    admin_id: int
    admin_email: str
    user_id: int
    user_email: str
    svea_password: str
    ids: dict[type, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Values for string URL parts: job group, RQ job id, batch key of a bulk submission.
    strings: dict[str, str] = field(default_factory=dict)

    def keep(self, *objects: Any) -> None:
        db.session.flush()
        for obj in objects:
            ids = self.ids[type(obj)]
            if obj.id not in ids:
                ids.append(obj.id)

    def first(self, model: type) -> int:
        return self.ids[model][0]


def marker(prefix: str) -> str:
    """A string that appears nowhere but in one firm's rows."""
    return f"{prefix}{secrets.token_hex(4)}"


def _csv(tag: str) -> bytes:
    return (
        "Kundenr;Navn;Type;Orgnr;Adresse;Postnr;Poststed;E-post;Fakturanr;Motpostnr;KID;Fakturadato;"
        "Forfallsdato;Beløp;Restbeløp;Tekst\n"
        f"7001;Import {tag};person;;Importveien {tag};0150;OSLO;import@example.no;7001;7001;;01.09.2026;"
        f"15.09.2026;500,00;500,00;Importtekst {tag}\n"
    ).encode()


def build_firm(name: str, tag: str) -> FirmWorld:
    """A firm with an administrator and a user, and every kind of row, each text carrying ``tag``."""
    client = accounts.create_client(
        name,
        org_no="923609016",
        address=f"Firmaveien {tag}",
        postcode="0150",
        city=f"Oslo {tag}",
        email=f"post@{tag.lower()}.no",
        phone="+4722334455",
    )
    admin = accounts.create_user(f"admin@{tag.lower()}.no", f"Admin {tag}", PASSWORD)
    user = accounts.create_user(f"bruker@{tag.lower()}.no", f"Bruker {tag}", PASSWORD)
    accounts.add_member(admin, client, ROLE_ADMIN)
    accounts.add_member(user, client, ROLE_USER)
    db.session.commit()
    world = FirmWorld(
        client_id=client.id,
        name=name,
        tag=tag,
        admin_id=admin.id,
        admin_email=admin.email,
        user_id=user.id,
        user_email=user.email,
        svea_password=f"svea-passord-{tag}",
    )
    cid = world.client_id
    world.keep(client, admin, user, *client.memberships)

    setup.save_svea_settings(
        cid,
        admin.id,
        setup.SveaSettingsInput(
            customer_no="10042",
            username=f"bruker-{tag}",
            new_password=world.svea_password,
            handover_level="inkasso",
            kid_length=25,
            group_by_customer=False,
        ),
    )
    setup.svea_settings(cid).base_url = CLOSED_SVEA_URL
    setup.save_dunning_settings(
        cid,
        admin.id,
        setup.DunningSettingsInput(
            in_app_steps=1,
            days_between=14,
            fee_enabled=True,
            interest_enabled=True,
            notice_enabled=True,
            min_amount=Decimal("0"),
            offer_after_days=14,
        ),
    )
    dunning.save_letter_settings(cid, ACCOUNT_NO, f"svar@{tag.lower()}.no")
    for kind in setup.FIGURE_KINDS:
        world.ids[FigureRow] += [row.id for row in setup.figure_rows(kind)]

    person = Customer(
        client_id=cid,
        customer_no="1001",
        name=f"Kari {tag}",
        kind="person",
        national_id="01010112345",
        address=f"Storgata {tag}",
        postcode="0150",
        city="OSLO",
        email=f"kari@{tag.lower()}.no",
        phone="+4791234567",
    )
    company = Customer(
        client_id=cid,
        customer_no="1002",
        name=f"Fjord {tag} AS",
        kind="company",
        org_no="923609016",
        address=f"Kaia {tag}",
        postcode="5003",
        city="BERGEN",
        email=f"faktura@{tag.lower()}.no",
    )
    db.session.add_all([person, company])
    world.keep(person, company)

    def post(cust: Customer, invoice_no: str, amount: str, due: date, **fields: Any) -> CustomerPost:
        open_amount = Decimal(fields.pop("open_amount", amount))
        p = CustomerPost(
            client_id=cid,
            customer_id=cust.id,
            kind=POST_INVOICE,
            invoice_no=invoice_no,
            match_no=invoice_no,
            kid=fields.pop("kid", None),
            invoice_date=due - timedelta(days=14),
            due_date=due,
            amount=Decimal(amount),
            open_amount=open_amount,
            status=STATUS_OPEN if open_amount else STATUS_PAID,
            text=f"Faktura {invoice_no} {tag}",
            **fields,
        )
        db.session.add(p)
        world.keep(p)
        return p

    reminded = post(person, "5001", "1200.00", date(2026, 9, 1), kid="0000050013")
    post(company, "5002", "8000.00", date(2026, 10, 1), kid="0000050021")
    in_case = post(company, "5003", "4500.00", date(2026, 6, 1), svea_reference="SV-1")
    paused = post(person, "5004", "300.00", date(2026, 10, 15))
    post(person, "5005", "99.90", date(2026, 8, 1), open_amount="0")
    db.session.commit()

    # The reminder run: preview, confirm, letters as PDF e-mails into the local outbox.
    run = dunning.start_run(cid, TODAY, TODAY, admin.id)
    preview = dunning.build_preview(cid, TODAY)
    result = dunning.confirm_run(run, preview.digest, TODAY, admin.id)
    assert result.outcome == "confirmed", result.outcome
    dunning.queue_letter_mails(run.id)
    world.keep(run)

    dunning.pause_post(cid, paused, f"Tvist {tag}", None)
    dunning.pause_customer(cid, company, f"Avtale {tag}", TODAY + timedelta(days=30), admin.id)

    batch = ledger.create_batch(cid, admin.id, f"poster-{tag}.csv", _csv(tag))
    ledger.analyze_batch(batch.id)
    world.keep(batch)

    # A case at Svea with its history, a letter Svea sent, and messages both ways.
    world.strings["batch_key"] = uuid.uuid4().hex
    now = datetime.combine(TODAY, time(9, 0))
    case = SveaCase(
        client_id=cid,
        customer_id=company.id,
        level="inkasso",
        state="open",
        svea_status="INKASSOVARSEL",
        idempotency_key=uuid.uuid4().hex,
        request_id=f"req-{tag}",
        case_number=f"77{secrets.randbelow(10**6):06d}",
        submitted_at=now - timedelta(days=10),
        acknowledged_at=now - timedelta(days=10),
        batch_key=world.strings["batch_key"],
        principal_original=Decimal("4500.00"),
        principal_remaining=Decimal("4500.00"),
        fees_remaining=Decimal("70.00"),
        last_event_at=now,
        created_by_id=admin.id,
    )
    failed_case = SveaCase(
        client_id=cid,
        customer_id=person.id,
        level="inkasso",
        state="failed",
        idempotency_key=uuid.uuid4().hex,
        last_error=f"Svea svarte ikke ({tag})",
        batch_key=world.strings["batch_key"],
        created_by_id=admin.id,
    )
    db.session.add_all([case, failed_case])
    world.keep(case, failed_case)
    in_case.svea_case_id = case.id
    link = CasePost(case_id=case.id, post_id=in_case.id, active=True, amount_at_handover=Decimal("4500.00"))
    event = CaseEvent(case_id=case.id, at=now, source="svea", kind="INKASSOVARSEL", text=f"Varsel sendt {tag}")
    dispatch = Dispatch(
        case_id=case.id,
        external_id="1",
        kind="INKASSOVARSEL",
        title=f"Inkassovarsel {tag}",
        sent_at=now,
        deadline=TODAY + timedelta(days=14),
        fee_charged=Decimal("70.00"),
        total_due=Decimal("4570.00"),
    )
    sent = CaseMessage(
        case_id=case.id,
        direction="out",
        text=f"Melding til Svea {tag}",
        state="failed",
        last_error=f"Svea utilgjengelig {tag}",
        idempotency_key=uuid.uuid4().hex,
        user_id=admin.id,
        author=admin.name,
    )
    received = CaseMessage(
        case_id=case.id,
        direction="in",
        text=f"Svar fra saksbehandler {tag}",
        state="received",
        external_id=f"m-{tag}",
        author=f"Saksbehandler {tag}",
    )
    db.session.add_all([link, event, dispatch, sent, received, SyncState(client_id=cid, status="idle")])
    world.keep(link, event, dispatch, sent, received)
    record(cid, "collection.case_created", "svea_case", case.id, f"Sak for {tag}", admin.id)
    db.session.commit()

    # Money in: a payment file (one KID matches, one does not), a manual payment, a payment on the
    # case post reported to Svea, and a settlement from Svea.
    ocr_file = ocr.write(
        [("0000050021", Decimal("100.00")), ("9999999999", Decimal("55.00"))], nets_date=TODAY
    ).encode()
    upload = payments.create_import(cid, admin.id, f"ocr-{tag}.txt", ocr_file)
    # Kept a day: the walkers use its id long after the inline run finished it.
    job = enqueue(payment_jobs.import_payment_file, upload.id, queue="high", client_id=cid, result_ttl=86400)
    world.strings["job_id"] = job.id
    world.keep(db.session.get(PaymentImport, upload.id))
    payments.register_payment(
        cid,
        admin.id,
        paid_on=TODAY,
        amount=Decimal("200.00"),
        token=uuid.uuid4().hex,
        post_id=reminded.id,
        text=f"Innbetalt {tag}",
    )
    direct = Payment(
        client_id=cid,
        paid_on=TODAY,
        amount=Decimal("500.00"),
        match_no=in_case.match_no,
        reference_text=f"Direkte {tag}",
        payer_name=f"Betaler {tag}",
        source="manual",
        external_id=uuid.uuid4().hex,
        state="booked",
        matched_by="manual",
        customer_id=company.id,
        created_by_id=admin.id,
    )
    db.session.add(direct)
    db.session.flush()
    allocation = PaymentAllocation(
        client_id=cid, payment_id=direct.id, post_id=in_case.id, amount=Decimal("500.00"), created_by_id=admin.id
    )
    db.session.add(allocation)
    db.session.flush()
    report = DirectPaymentReport(
        client_id=cid,
        allocation_id=allocation.id,
        case_id=case.id,
        amount=Decimal("500.00"),
        paid_on=TODAY,
        reference=f"ref-{tag}",
        idempotency_key=uuid.uuid4().hex,
        state="failed",
        last_error=f"Svea avviste {tag}",
    )
    settlement = Settlement(
        client_id=cid,
        svea_id=1,
        settled_on=TODAY,
        principal_total=Decimal("300.00"),
        fees_total=Decimal("70.00"),
        interest_total=Decimal("5.00"),
        payout_total=Decimal("300.00"),
    )
    db.session.add_all([report, settlement])
    db.session.flush()
    line = SettlementLine(
        settlement_id=settlement.id,
        line_no=1,
        case_number=case.case_number or "",
        creditor_ref=f"kref-{tag}",
        invoice_no=in_case.invoice_no,
        match_no=in_case.match_no,
        principal=Decimal("300.00"),
        fees=Decimal("70.00"),
        interest=Decimal("5.00"),
        payout=Decimal("300.00"),
        post_id=in_case.id,
    )
    db.session.add(line)
    world.keep(direct, allocation, report, settlement, line)
    db.session.commit()

    order, _created = setup.place_access_order(
        cid,
        admin.id,
        setup.FirmDetails(client.name, "923609016", f"Firmaveien {tag}", "0150", f"Oslo {tag}"),
        setup.ContactPerson(f"Kontakt {tag}", f"kontakt@{tag.lower()}.no", "+4791234567"),
        secrets.token_urlsafe(24),
    )
    world.keep(order)
    world.strings["group_id"] = create_group(cid, 2, f"Sender saker {tag}").id
    record(cid, "security.marker", "client", cid, f"Hendelse {tag}", admin.id)
    db.session.commit()
    _keep_everything_of(world)
    return world


def build_operator(world: FirmWorld) -> int:
    """The deployment's operator, who also keeps the books of ``world``'s firm (as an administrator)."""
    operator = accounts.create_user(f"drift@{world.tag.lower()}.no", f"Drift {world.tag}", PASSWORD)
    operator.is_operator = True
    client = db.session.get(Client, world.client_id)
    assert client is not None
    accounts.add_member(operator, client, ROLE_ADMIN)
    db.session.commit()
    world.ids[User].append(operator.id)
    return int(operator.id)


def _keep_everything_of(world: FirmWorld) -> None:
    """Ids the flows made on their own (letters, steps, fee posts, mails, payments, audit events)."""
    cid = world.client_id
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        if "client_id" in model.__table__.c and "id" in model.__table__.c:
            for row_id in db.session.scalars(select(model.id).where(model.client_id == cid)):
                if row_id not in world.ids[model]:
                    world.ids[model].append(row_id)
    children = {
        MailAttachment: (MailAttachment.mail_id, OutgoingMail),
        CaseEvent: (CaseEvent.case_id, SveaCase),
        Dispatch: (Dispatch.case_id, SveaCase),
        CaseMessage: (CaseMessage.case_id, SveaCase),
        CasePost: (CasePost.case_id, SveaCase),
        SettlementLine: (SettlementLine.settlement_id, Settlement),
    }
    for model, (parent_column, parent) in children.items():
        for row_id in db.session.scalars(select(model.id).where(parent_column.in_(world.ids[parent]))):
            if row_id not in world.ids[model]:
                world.ids[model].append(row_id)


# Tables that hold no firm's data of their own, or whose rows the walkers never address by id.
UNOWNED_TABLES = {User, Client, Membership, FigureRow}


def _firm_owned(mapper: Mapper[Any]) -> bool:
    """A firm's table: a client_id of its own, or rows hanging off a firm's rows (a case's events)."""
    table = mapper.local_table
    return "client_id" in table.c or any("client_id" in fk.column.table.c for fk in table.foreign_keys)


def fill_missing_tables(worlds: list[FirmWorld]) -> list[str]:
    """A generic row per firm for every table the builders left empty; returns their names.

    A table lands here when someone adds a model after these builders were written: the walkers then
    still address it by id, and the returned names tell which table wants a realistic builder.
    """
    filled = []
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        if model in UNOWNED_TABLES or not _firm_owned(mapper):
            continue
        if db.session.scalar(select(func.count()).select_from(model)):
            continue
        for world in worlds:
            obj = _generic_row(mapper, world)
            db.session.add(obj)
            db.session.flush()
            if "id" in model.__table__.c:
                world.ids[model].append(obj.id)
        filled.append(model.__tablename__)
    db.session.commit()
    return filled


def _generic_row(mapper: Mapper[Any], world: FirmWorld) -> Any:
    values: dict[str, Any] = {}
    for column in mapper.local_table.columns:
        if column.primary_key and not column.foreign_keys and isinstance(column.type, Integer):
            continue
        if column.name == "client_id":
            values[column.key] = world.client_id
            continue
        if column.foreign_keys:
            target = next(iter(column.foreign_keys)).column.table
            model = next((m.class_ for m in db.Model.registry.mappers if m.local_table is target), None)
            ids = world.ids.get(model, []) if model is not None else []
            if ids:
                values[column.key] = ids[0]
            elif not column.nullable:
                raise AssertionError(f"{mapper.class_.__name__}.{column.name}: no {target.name} row to point at")
            continue
        optional = column.nullable or column.default is not None or column.server_default is not None
        # Optional columns keep their defaults, but texts get the marker (the walkers look for it).
        if optional and not isinstance(column.type, String | Text):
            continue
        values[column.key] = _generic_value(column, world.tag)
    return mapper.class_(**values)


def _generic_value(column: Any, tag: str) -> Any:
    kind = column.type
    if isinstance(kind, String | Text):
        text = f"{column.name} {tag} {secrets.token_hex(2)}"
        return text[: kind.length] if getattr(kind, "length", None) else text
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Numeric):
        return Decimal("1.00")
    if isinstance(kind, DateTime):
        return datetime.combine(TODAY, time(12, 0))
    if isinstance(kind, Date):
        return TODAY
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, LargeBinary):
        return tag.encode()
    if isinstance(kind, JSON):
        return {"text": tag}
    raise AssertionError(f"no generic value for {column.table.name}.{column.name} ({kind})")
