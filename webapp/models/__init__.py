"""Typed SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from webapp.models.activity import AuditEvent, Comment, audit
from webapp.models.base import Base, utcnow
from webapp.models.messaging import (
    Batch,
    BlockedRegion,
    ComposeDraft,
    Email,
    InboundPart,
    Message,
    Setting,
    SmsTemplate,
)
from webapp.models.offices import (
    Office,
    SmsAccount,
    SmsAccountBlocked,
    SmsAccountCountry,
    sms_account_offices,
)
from webapp.models.people import Candidate, Client, ClientContact, name_key
from webapp.models.users import (
    PERMISSIONS,
    ROLES,
    LoginFailure,
    Permission,
    RecoveryCode,
    Role,
    User,
    UserSession,
)
from webapp.models.workers import WorkerHeartbeat

__all__ = [
    "Office",
    "SmsAccount",
    "SmsAccountBlocked",
    "SmsAccountCountry",
    "sms_account_offices",
    "AuditEvent",
    "Base",
    "Batch",
    "BlockedRegion",
    "ComposeDraft",
    "Email",
    "InboundPart",
    "Message",
    "Setting",
    "SmsTemplate",
    "Candidate",
    "Client",
    "ClientContact",
    "Comment",
    "PERMISSIONS",
    "LoginFailure",
    "RecoveryCode",
    "Permission",
    "ROLES",
    "Role",
    "User",
    "UserSession",
    "WorkerHeartbeat",
    "audit",
    "name_key",
    "utcnow",
]
