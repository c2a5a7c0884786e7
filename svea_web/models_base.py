"""Column helpers shared by every feature's models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from sqlalchemy import Numeric
from sqlalchemy.orm import mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Money: Numeric(14,2) held as Decimal, never float.
Money = Annotated[Decimal, mapped_column(Numeric(14, 2, asdecimal=True))]
