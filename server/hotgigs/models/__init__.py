"""HotGigs database models: one `Base`, one module per area, every model re-exported here.

Importing this package registers every table on `Base.metadata` (Alembic's target).
Vocabularies of CHECK constraints are module-level tuples (`JOB_STATUSES`, ...), exported too.
Relationships are `lazy="raise"`: load them explicitly (`selectinload`, `joinedload`).
"""

from hotgigs.models.ai import AI_ANALYSIS_TYPES, KEEP_PER_USER, RECORD_MAX_BYTES, AiAnalysis
from hotgigs.models.applications import (
    APPLICATION_STATUSES,
    ApplicationStatusHistory,
    JobApplication,
)
from hotgigs.models.audit import AuditEntry
from hotgigs.models.base import NAMING_CONVENTION, Base
from hotgigs.models.companies import (
    COMPANY_MEMBER_ROLES,
    Company,
    CompanyInvitation,
    CompanyMember,
)
from hotgigs.models.documents import DOCUMENT_TYPES, Document
from hotgigs.models.encryption import EncryptionKey
from hotgigs.models.jobs import (
    CURRENCIES,
    EMPLOYMENT_TYPES,
    EXPERIENCE_LEVELS,
    JOB_STATUSES,
    SEARCH_CONFIG,
    SEARCH_TEXT_FUNCTION,
    SEARCH_VECTOR_SQL,
    Job,
)
from hotgigs.models.notifications import (
    NOTIFICATION_FREQUENCIES,
    NOTIFICATION_PRIORITIES,
    NOTIFICATION_TYPES,
    Notification,
    NotificationPreference,
)
from hotgigs.models.outbox import OUTBOX_STATUSES, OutboxEmail
from hotgigs.models.service_accounts import ServiceAccount, ServiceAccountKey
from hotgigs.models.sessions import AuthSession
from hotgigs.models.users import (
    AVAILABILITIES,
    ONE_TIME_TOKEN_PURPOSES,
    USER_TYPES,
    CandidateProfile,
    Education,
    Experience,
    OneTimeToken,
    RefreshToken,
    User,
    UserIdentity,
)

__all__ = [
    "AI_ANALYSIS_TYPES",
    "APPLICATION_STATUSES",
    "AVAILABILITIES",
    "COMPANY_MEMBER_ROLES",
    "CURRENCIES",
    "DOCUMENT_TYPES",
    "EMPLOYMENT_TYPES",
    "EXPERIENCE_LEVELS",
    "JOB_STATUSES",
    "KEEP_PER_USER",
    "NAMING_CONVENTION",
    "NOTIFICATION_FREQUENCIES",
    "NOTIFICATION_PRIORITIES",
    "NOTIFICATION_TYPES",
    "ONE_TIME_TOKEN_PURPOSES",
    "OUTBOX_STATUSES",
    "RECORD_MAX_BYTES",
    "SEARCH_CONFIG",
    "SEARCH_TEXT_FUNCTION",
    "SEARCH_VECTOR_SQL",
    "USER_TYPES",
    "AiAnalysis",
    "ApplicationStatusHistory",
    "AuditEntry",
    "AuthSession",
    "Base",
    "CandidateProfile",
    "Company",
    "CompanyInvitation",
    "CompanyMember",
    "Document",
    "Education",
    "EncryptionKey",
    "Experience",
    "Job",
    "JobApplication",
    "Notification",
    "NotificationPreference",
    "OneTimeToken",
    "OutboxEmail",
    "RefreshToken",
    "ServiceAccount",
    "ServiceAccountKey",
    "User",
    "UserIdentity",
]
