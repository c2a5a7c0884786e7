"""Per-firm settings: Oppsett Svea, Oppsett purre/rente."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from svea_web.extensions import db
from svea_web.models_base import Money


class SveaSettings(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "svea_settings"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    customer_no: Mapped[str | None] = mapped_column(String(40))
    username: Mapped[str | None] = mapped_column(String(100))
    # Fernet token (svea_web.crypto); the plain password is never stored nor sent back to the browser.
    password_encrypted: Mapped[str | None] = mapped_column(String(500))
    handover_level: Mapped[str] = mapped_column(String(10), default="purring")
    kid_length: Mapped[int] = mapped_column(default=25)
    group_by_customer: Mapped[bool] = mapped_column(default=False)
    # Empty means the deployment's SVEA_BASE_URL.
    base_url: Mapped[str | None] = mapped_column(String(300))
    has_agreement: Mapped[bool] = mapped_column(default=False)

    @property
    def is_configured(self) -> bool:
        return bool(self.customer_no and self.username and self.password_encrypted)


class DunningSettings(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "dunning_settings"

    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), primary_key=True)
    in_app_steps: Mapped[int] = mapped_column(default=0)
    days_between: Mapped[int] = mapped_column(default=14)
    fee_enabled: Mapped[bool] = mapped_column(default=False)
    interest_enabled: Mapped[bool] = mapped_column(default=False)
    notice_enabled: Mapped[bool] = mapped_column(default=False)
    min_amount: Mapped[Money] = mapped_column(default=Decimal("0"))
    # Days after the due date (or after the last in-app step's deadline) before a post is offered to Svea.
    offer_after_days: Mapped[int] = mapped_column(default=14)
