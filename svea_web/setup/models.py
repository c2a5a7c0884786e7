"""Per-firm settings (Oppsett Svea, Oppsett purre/rente), orders to Svea, and the dated fee/rate tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from svea_web.extensions import db
from svea_web.mail.models import OutgoingMail
from svea_web.models_base import Money, utcnow

LEVEL_PURRING = "purring"
LEVEL_INKASSO = "inkasso"
LEVELS = (LEVEL_PURRING, LEVEL_INKASSO)


class SveaSettings(db.Model):  # type: ignore[name-defined]
    __tablename__ = "svea_settings"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    customer_no: Mapped[str | None] = mapped_column(String(40))
    username: Mapped[str | None] = mapped_column(String(100))
    # Fernet token (svea_web.crypto); the plain password is never stored nor sent back to the browser.
    password_encrypted: Mapped[str | None] = mapped_column(String(500))
    password_changed_at: Mapped[datetime | None]
    handover_level: Mapped[str] = mapped_column(String(10), default=LEVEL_PURRING)
    kid_length: Mapped[int] = mapped_column(default=25)
    group_by_customer: Mapped[bool] = mapped_column(default=False)
    # Empty means the deployment's SVEA_BASE_URL.
    base_url: Mapped[str | None] = mapped_column(String(300))
    has_agreement: Mapped[bool] = mapped_column(default=False)
    # The firm's address changed while it has an agreement: Svea must be told (the reference help page).
    address_notice_due: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_configured(self) -> bool:
        return bool(self.customer_no and self.username and self.password_encrypted)


class DunningSettings(db.Model):  # type: ignore[name-defined]
    __tablename__ = "dunning_settings"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    # In-app reminders (purringer) before the post goes on; the notice is counted apart (notice_enabled).
    in_app_steps: Mapped[int] = mapped_column(default=0)
    days_between: Mapped[int] = mapped_column(default=14)
    fee_enabled: Mapped[bool] = mapped_column(default=False)
    interest_enabled: Mapped[bool] = mapped_column(default=False)
    notice_enabled: Mapped[bool] = mapped_column(default=False)
    min_amount: Mapped[Money] = mapped_column(default=Decimal("0"))
    # Days after the due date (or after the last in-app step's deadline) before a post is offered to Svea.
    offer_after_days: Mapped[int] = mapped_column(default=14)


ORDER_AGREEMENT = "agreement"  # Bestill Svea tilgang
ORDER_ADDRESS_CHANGE = "address_change"  # the firm moved: Svea needs the new address
ORDER_KINDS = (ORDER_AGREEMENT, ORDER_ADDRESS_CHANGE)


class AccessOrder(db.Model):  # type: ignore[name-defined]
    """An e-mail to the agency: an order for an agreement, or a new firm address. Its state is its mail's."""

    __tablename__ = "access_order"
    __table_args__ = (
        # One order per dialog: the token is made when the dialog opens, so a double click finds the first.
        UniqueConstraint("client_id", "request_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=ORDER_AGREEMENT)
    request_token: Mapped[str] = mapped_column(String(64))
    firm_name: Mapped[str] = mapped_column(String(200))
    org_no: Mapped[str] = mapped_column(String(9))
    address: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(40))
    # When the user ticked "I have read the agreement" (agreement orders only).
    agreement_accepted_at: Mapped[datetime | None]
    agency_email: Mapped[str] = mapped_column(String(254))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_mail.id", ondelete="SET NULL"))

    mail: Mapped[OutgoingMail | None] = relationship()


class FigureRow(db.Model):  # type: ignore[name-defined]
    """One row of a dated table (fees, interest rates): in force from valid_from until the next row.

    The same for every firm (they are the law's figures), seeded from svea_web.rules.figures.
    """

    __tablename__ = "figure_row"
    __table_args__ = (UniqueConstraint("kind", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date]
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2, asdecimal=True))
    # A figure RULES.md does not confirm; shown marked until an admin has checked it.
    unconfirmed: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


@event.listens_for(FigureRow.__table__, "after_create")
def _seed_figure_rows(table: Any, connection: Any, **_kw: Any) -> None:
    """A new database starts with RULES.md's figures (create_all and the migration both fire this)."""
    from svea_web.rules import figures

    now = utcnow()
    connection.execute(
        table.insert(),
        [
            {
                "kind": kind,
                "valid_from": row.valid_from,
                "value": row.value,
                "unconfirmed": (kind, row.valid_from) in figures.UNCONFIRMED,
                "updated_at": now,
            }
            for kind, rows in figures.DEFAULT_TABLES.items()
            for row in rows
        ],
    )
