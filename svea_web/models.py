"""Imports every feature's models so that metadata, migrations and create_all see all tables."""

from svea_web.accounts.models import AuditEvent, Client, Membership, User
from svea_web.collection.models import CaseEvent, CaseMessage, CasePost, Dispatch, SveaCase, SyncState
from svea_web.dunning.models import CustomerPause, LetterSettings, ReminderLetter, ReminderRun, ReminderStep  # noqa: F401
from svea_web.ledger.models import Customer, CustomerPost, ImportBatch
from svea_web.mail.models import MailAttachment, OutgoingMail  # noqa: F401
from svea_web.payments.models import DirectPaymentReport, Payment, PaymentAllocation, PaymentImport, Settlement  # noqa: F401
from svea_web.setup.models import DunningSettings, SveaSettings

__all__ = [
    "AuditEvent",
    "CaseEvent",
    "CaseMessage",
    "CasePost",
    "Client",
    "Customer",
    "CustomerPost",
    "Dispatch",
    "DunningSettings",
    "ImportBatch",
    "Membership",
    "SveaCase",
    "SveaSettings",
    "SyncState",
    "User",
]
