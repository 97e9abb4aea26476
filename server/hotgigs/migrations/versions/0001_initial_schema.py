"""Initial schema: accounts, companies, jobs with full-text search, applications, documents,
notifications and the mail outbox, with the seed's eight indexes under their original names.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written by hand; it must match `hotgigs.models` exactly (tests/test_migrations.py checks it).

Besides tables and indexes, upgrade() creates:
- the `pg_trgm` extension (`CREATE EXTENSION IF NOT EXISTS`), for the trigram GIN indexes on
  `lower(location)` (substring / ILIKE location search). downgrade() leaves it installed: it may
  have been there before us, other schemas may use it, and dropping an extension needs more
  privileges than the rest of this migration. It holds no data.
- `hotgigs_immutable_array_to_string(text[], text)`, an IMMUTABLE wrapper of the STABLE
  `array_to_string`, so that the generated column `jobs.search_vector` may index the skills
  (a generated column may only call immutable functions; for `text[]` the wrapper's promise
  holds). Dropped by downgrade() after the jobs table.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_TEXT_FUNCTION_SQL = """
CREATE FUNCTION hotgigs_immutable_array_to_string(text[], text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT pg_catalog.array_to_string($1, $2) $$
"""

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('english',"
    " coalesce(hotgigs_immutable_array_to_string(skills_required, ' '), '')), 'B')"
    " || setweight(to_tsvector('english', coalesce(requirements, '')), 'C')"
    " || setweight(to_tsvector('english', coalesce(description, '')), 'D')"
)


def _in(column: str, *values: str) -> str:
    """`column IN ('a', 'b')` for a CHECK constraint (values frozen in this migration)."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False)


def _now(name: str) -> sa.Column[dt.datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _ts(name: str, *, nullable: bool = True) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


EXPERIENCE_LEVELS = ("entry", "mid", "senior", "executive")
APPLICATION_STATUSES = (
    "applied", "screening", "interviewing", "offered", "hired", "rejected", "withdrawn",
)


def upgrade() -> None:
    """Create the extension, the search helper function, every table and index."""
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(SEARCH_TEXT_FUNCTION_SQL)

    # ---- accounts and tokens -------------------------------------------------------------
    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("user_type", sa.String(20), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        _ts("email_verified_at"),
        _ts("last_login_at"),
        sa.Column("failed_login_count", sa.Integer(), server_default=sa.text("0"),
                  nullable=False),
        _ts("locked_until"),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.CheckConstraint(_in("user_type", "candidate", "company", "recruiter", "admin"),
                           name=op.f("ck_users_user_type")),
        sa.CheckConstraint("failed_login_count >= 0",
                           name=op.f("ck_users_failed_login_count_non_negative")),
    )
    op.create_index("idx_users_email", "users", ["email"])
    op.create_index("idx_users_type", "users", ["user_type"])

    op.create_table(
        "refresh_tokens",
        _id(),
        sa.Column("jti", sa.String(128), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("parent_jti", sa.String(128), nullable=True),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _ts("revoked_at"),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("jti", name=op.f("uq_refresh_tokens_jti")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_refresh_tokens_user_id_users")),
    )
    op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"])
    op.create_index(op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"])
    op.create_index(op.f("ix_refresh_tokens_expires_at"), "refresh_tokens", ["expires_at"])

    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.String(128), nullable=False),
        _ts("expires_at", nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_access_tokens")),
    )
    op.create_index(op.f("ix_revoked_access_tokens_expires_at"), "revoked_access_tokens",
                    ["expires_at"])

    op.create_table(
        "one_time_tokens",
        _id(),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_one_time_tokens_token_hash")),
        sa.CheckConstraint(_in("purpose", "verify_email", "reset_password"),
                           name=op.f("ck_one_time_tokens_purpose")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_one_time_tokens_user_id_users")),
    )
    op.create_index(op.f("ix_one_time_tokens_user_id"), "one_time_tokens", ["user_id"])

    # ---- candidate profiles ---------------------------------------------------------------
    op.create_table(
        "candidate_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("headline", sa.String(200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("skills", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column("experience_level", sa.String(20), nullable=True),
        sa.Column("years_experience", sa.Integer(), nullable=True),
        sa.Column("availability", sa.String(20), nullable=True),
        sa.Column("salary_min", sa.Integer(), nullable=True),
        sa.Column("salary_max", sa.Integer(), nullable=True),
        sa.Column("remote_preference", sa.Boolean(), server_default=sa.false(),
                  nullable=False),
        sa.Column("is_public", sa.Boolean(), server_default=sa.true(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_candidate_profiles")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_candidate_profiles_user_id_users")),
        sa.CheckConstraint(_in("experience_level", *EXPERIENCE_LEVELS),
                           name=op.f("ck_candidate_profiles_experience_level")),
        sa.CheckConstraint(_in("availability", "immediate", "2_weeks", "1_month", "3_months"),
                           name=op.f("ck_candidate_profiles_availability")),
        sa.CheckConstraint("years_experience >= 0",
                           name=op.f("ck_candidate_profiles_years_experience_non_negative")),
        sa.CheckConstraint("salary_min >= 0",
                           name=op.f("ck_candidate_profiles_salary_min_non_negative")),
        sa.CheckConstraint("salary_max >= 0",
                           name=op.f("ck_candidate_profiles_salary_max_non_negative")),
        sa.CheckConstraint("salary_min <= salary_max",
                           name=op.f("ck_candidate_profiles_salary_range")),
    )
    op.create_index(op.f("ix_candidate_profiles_skills"), "candidate_profiles", ["skills"],
                    postgresql_using="gin")
    op.create_index(op.f("ix_candidate_profiles_experience_level"), "candidate_profiles",
                    ["experience_level"])
    op.create_index(op.f("ix_candidate_profiles_location_trgm"), "candidate_profiles",
                    [sa.text("lower(location) gin_trgm_ops")], postgresql_using="gin")

    op.create_table(
        "experiences",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("is_current", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiences")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_experiences_user_id_users")),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date",
                           name=op.f("ck_experiences_dates_ordered")),
    )
    op.create_index(op.f("ix_experiences_user_id"), "experiences", ["user_id"])

    op.create_table(
        "educations",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("institution", sa.String(200), nullable=False),
        sa.Column("degree", sa.String(200), nullable=True),
        sa.Column("field_of_study", sa.String(200), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("grade", sa.String(50), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_educations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_educations_user_id_users")),
        sa.CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
                           name=op.f("ck_educations_dates_ordered")),
    )
    op.create_index(op.f("ix_educations_user_id"), "educations", ["user_id"])

    # ---- companies ---------------------------------------------------------------------------
    op.create_table(
        "companies",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(220), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("company_size", sa.String(50), nullable=True),
        sa.Column("website", sa.String(500), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("slug", name=op.f("uq_companies_slug")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_companies_created_by_users")),
    )
    op.create_index("idx_companies_industry", "companies", ["industry"])
    op.create_index("idx_companies_size", "companies", ["company_size"])
    op.create_index(op.f("ix_companies_created_by"), "companies", ["created_by"])

    op.create_table(
        "company_members",
        _id(),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), server_default=sa.text("'member'"), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_members")),
        sa.UniqueConstraint("company_id", "user_id",
                            name=op.f("uq_company_members_company_id_user_id")),
        sa.CheckConstraint(_in("role", "admin", "recruiter", "member"),
                           name=op.f("ck_company_members_role")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE",
                                name=op.f("fk_company_members_company_id_companies")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_company_members_user_id_users")),
    )
    op.create_index(op.f("ix_company_members_user_id"), "company_members", ["user_id"])

    # ---- jobs -----------------------------------------------------------------------------------
    op.create_table(
        "jobs",
        _id(),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("posted_by", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("employment_type", sa.String(20), nullable=False),
        sa.Column("experience_level", sa.String(20), nullable=False),
        sa.Column("salary_min", sa.Integer(), nullable=True),
        sa.Column("salary_max", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(3), server_default=sa.text("'USD'"), nullable=False),
        sa.Column("skills_required", postgresql.ARRAY(sa.Text()),
                  server_default=sa.text("'{}'"), nullable=False),
        sa.Column("benefits", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column("remote_work_allowed", sa.Boolean(), server_default=sa.false(),
                  nullable=False),
        sa.Column("status", sa.String(20), server_default=sa.text("'draft'"), nullable=False),
        _ts("application_deadline"),
        _ts("published_at"),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("search_vector", postgresql.TSVECTOR(),
                  sa.Computed(SEARCH_VECTOR_SQL, persisted=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE",
                                name=op.f("fk_jobs_company_id_companies")),
        sa.ForeignKeyConstraint(["posted_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_jobs_posted_by_users")),
        sa.CheckConstraint(
            _in("employment_type", "full-time", "part-time", "contract", "freelance",
                "internship"),
            name=op.f("ck_jobs_employment_type"),
        ),
        sa.CheckConstraint(_in("experience_level", *EXPERIENCE_LEVELS),
                           name=op.f("ck_jobs_experience_level")),
        sa.CheckConstraint(_in("status", "draft", "active", "paused", "closed", "expired"),
                           name=op.f("ck_jobs_status")),
        sa.CheckConstraint(_in("currency", "USD", "EUR", "GBP", "CAD", "AUD"),
                           name=op.f("ck_jobs_currency")),
        sa.CheckConstraint("salary_min >= 0", name=op.f("ck_jobs_salary_min_non_negative")),
        sa.CheckConstraint("salary_max >= 0", name=op.f("ck_jobs_salary_max_non_negative")),
        sa.CheckConstraint("salary_min <= salary_max", name=op.f("ck_jobs_salary_range")),
    )
    op.create_index("idx_jobs_search", "jobs", ["status", "location", "experience_level"])
    op.create_index("idx_jobs_salary", "jobs", ["salary_min", "salary_max"])
    op.create_index(op.f("ix_jobs_company_id"), "jobs", ["company_id"])
    op.create_index(op.f("ix_jobs_posted_by"), "jobs", ["posted_by"])
    op.create_index(op.f("ix_jobs_status_created_at"), "jobs", ["status", "created_at"])
    op.create_index(op.f("ix_jobs_search_vector"), "jobs", ["search_vector"],
                    postgresql_using="gin")
    op.create_index(op.f("ix_jobs_skills_required"), "jobs", ["skills_required"],
                    postgresql_using="gin")
    op.create_index(op.f("ix_jobs_location_trgm"), "jobs",
                    [sa.text("lower(location) gin_trgm_ops")], postgresql_using="gin")

    # ---- documents ------------------------------------------------------------------------------
    op.create_table(
        "documents",
        _id(),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("document_type", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("extracted_text", sa.Text(), nullable=True),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_documents_owner_id_users")),
        sa.CheckConstraint(
            _in("document_type", "resume", "cover_letter", "portfolio", "certificate",
                "reference", "other"),
            name=op.f("ck_documents_document_type"),
        ),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_documents_size_bytes_non_negative")),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_documents_sha256_length")),
    )
    op.create_index(op.f("ix_documents_owner_id_created_at"), "documents",
                    ["owner_id", "created_at"])

    # ---- applications ---------------------------------------------------------------------------
    op.create_table(
        "job_applications",
        _id(),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), server_default=sa.text("'applied'"), nullable=False),
        sa.Column("cover_letter", sa.Text(), nullable=True),
        sa.Column("resume_document_id", sa.Integer(), nullable=True),
        sa.Column("resume_url", sa.String(2048), nullable=True),
        sa.Column("expected_salary", sa.Integer(), nullable=True),
        sa.Column("availability_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        _ts("interview_at"),
        sa.Column("interview_type", sa.String(50), nullable=True),
        sa.Column("interview_location", sa.String(500), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        _now("applied_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_applications")),
        sa.UniqueConstraint("job_id", "candidate_id",
                            name=op.f("uq_job_applications_job_id_candidate_id")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE",
                                name=op.f("fk_job_applications_job_id_jobs")),
        sa.ForeignKeyConstraint(["candidate_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_job_applications_candidate_id_users")),
        sa.ForeignKeyConstraint(["resume_document_id"], ["documents.id"], ondelete="SET NULL",
                                name=op.f("fk_job_applications_resume_document_id_documents")),
        sa.CheckConstraint(_in("status", *APPLICATION_STATUSES),
                           name=op.f("ck_job_applications_status")),
        sa.CheckConstraint("expected_salary >= 0",
                           name=op.f("ck_job_applications_expected_salary_non_negative")),
    )
    op.create_index("idx_applications_status", "job_applications", ["status", "applied_at"])
    op.create_index("idx_applications_candidate", "job_applications",
                    ["candidate_id", "job_id"])
    op.create_index(op.f("ix_job_applications_resume_document_id"), "job_applications",
                    ["resume_document_id"])

    op.create_table(
        "application_status_history",
        _id(),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _now("changed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_status_history")),
        sa.ForeignKeyConstraint(
            ["application_id"], ["job_applications.id"], ondelete="CASCADE",
            name=op.f("fk_application_status_history_application_id_job_applications"),
        ),
        sa.ForeignKeyConstraint(["changed_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_application_status_history_changed_by_users")),
        sa.CheckConstraint(_in("from_status", *APPLICATION_STATUSES),
                           name=op.f("ck_application_status_history_from_status")),
        sa.CheckConstraint(_in("to_status", *APPLICATION_STATUSES),
                           name=op.f("ck_application_status_history_to_status")),
    )
    op.create_index(op.f("ix_application_status_history_application_id_changed_at"),
                    "application_status_history", ["application_id", "changed_at"])
    op.create_index(op.f("ix_application_status_history_changed_by"),
                    "application_status_history", ["changed_by"])

    # ---- notifications --------------------------------------------------------------------------
    op.create_table(
        "notifications",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("notification_type", sa.String(30), server_default=sa.text("'info'"),
                  nullable=False),
        sa.Column("priority", sa.String(10), server_default=sa.text("'normal'"),
                  nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=True),
        _ts("read_at"),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_user_id_users")),
        sa.CheckConstraint(
            _in("notification_type", "info", "success", "warning", "error", "job_alert",
                "application_update", "message"),
            name=op.f("ck_notifications_notification_type"),
        ),
        sa.CheckConstraint(_in("priority", "low", "normal", "high", "urgent"),
                           name=op.f("ck_notifications_priority")),
    )
    op.create_index(op.f("ix_notifications_user_id_created_at"), "notifications",
                    ["user_id", "created_at"])
    op.create_index(op.f("ix_notifications_user_id_unread"), "notifications", ["user_id"],
                    postgresql_where=sa.text("read_at IS NULL"))

    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("in_app_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("muted_types", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                  nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_notification_preferences_user_id_users")),
    )

    # ---- mail outbox ----------------------------------------------------------------------------
    op.create_table(
        "outbox_emails",
        _id(),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(10), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _now("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _now("created_at"),
        _ts("sent_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_emails")),
        sa.CheckConstraint(_in("status", "pending", "sent", "failed"),
                           name=op.f("ck_outbox_emails_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_emails_attempts_non_negative")),
    )
    op.create_index(op.f("ix_outbox_emails_due"), "outbox_emails", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    """Drop every table (their indexes and constraints go with them), then the function.

    The `pg_trgm` extension stays installed (see the module docstring).
    """
    for table in (
        "outbox_emails",
        "notification_preferences",
        "notifications",
        "application_status_history",
        "job_applications",
        "documents",
        "jobs",
        "company_members",
        "companies",
        "educations",
        "experiences",
        "candidate_profiles",
        "one_time_tokens",
        "revoked_access_tokens",
        "refresh_tokens",
        "users",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION hotgigs_immutable_array_to_string(text[], text)")
