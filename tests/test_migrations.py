"""Migrations against a real PostgreSQL: the round trip, the seed's indexes, models == schema.

Uses `postgres_url` (conftest): a fresh, EMPTY database of its own. Tests move it between
base and head as they need (each brings it to the state it starts from), and the module leaves
it at base, so the order of tests does not matter.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.pool import NullPool

from hotgigs import migrate
from hotgigs.models import (
    ApplicationStatusHistory,
    Base,
    CandidateProfile,
    Company,
    CompanyMember,
    Document,
    Education,
    Experience,
    Job,
    JobApplication,
    Notification,
    NotificationPreference,
    OneTimeToken,
    OutboxEmail,
    RefreshToken,
    User,
)

TABLES = {
    "ai_analyses",
    "users",
    "refresh_tokens",
    "one_time_tokens",
    "candidate_profiles",
    "experiences",
    "educations",
    "companies",
    "company_members",
    "company_invitations",
    "jobs",
    "job_applications",
    "application_status_history",
    "documents",
    "notifications",
    "notification_preferences",
    "outbox_emails",
    "auth_sessions",
    "service_accounts",
    "service_account_keys",
    "audit_log",
    "encryption_keys",
    "user_identities",
}

NOT_A_HASH = "placeholder"  # the schema does not care what a hash looks like

# The seed deployment checklist's indexes: name -> (table, columns in order).
SEED_INDEXES = {
    "idx_jobs_search": ("jobs", ["status", "location", "experience_level"]),
    "idx_jobs_salary": ("jobs", ["salary_min", "salary_max"]),
    "idx_applications_status": ("job_applications", ["status", "applied_at"]),
    "idx_applications_candidate": ("job_applications", ["candidate_id", "job_id"]),
    "idx_users_email": ("users", ["email"]),
    "idx_users_type": ("users", ["user_type"]),
    "idx_companies_industry": ("companies", ["industry"]),
    "idx_companies_size": ("companies", ["company_size"]),
}


# ---- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on the test database; at the end of the module the schema goes back to base."""
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    yield engine
    engine.dispose()
    migrate.downgrade(postgres_url, "base")


@pytest.fixture
def at_head(postgres_url: str, engine: Engine) -> Engine:
    """The test database migrated to head (a no-op when it already is)."""
    migrate.upgrade(postgres_url, "head")
    return engine


@pytest.fixture
def connection(at_head: Engine) -> Iterator[Connection]:
    """A connection to the migrated database inside a transaction that is rolled back."""
    with at_head.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session joined to `connection`'s transaction (everything is rolled back)."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as orm_session:
        yield orm_session


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        return {row.tablename for row in rows}


def index_definitions(conn: Connection) -> dict[str, Any]:
    """name -> (table, columns in key order (None for an expression), method, unique, partial, def)."""
    rows = conn.execute(
        sa.text(
            """
            SELECT i.relname AS name, t.relname AS table_name,
                   array_agg(a.attname ORDER BY k.ord) AS columns,
                   am.amname AS method, x.indisunique AS is_unique,
                   x.indpred IS NOT NULL AS is_partial,
                   pg_get_indexdef(x.indexrelid) AS definition
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_am am ON am.oid = i.relam
            CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE t.relnamespace = current_schema()::regnamespace
            GROUP BY i.relname, t.relname, am.amname, x.indisunique, x.indpred, x.indexrelid
            """
        )
    )
    return {row.name: row for row in rows}


def describe_catalog(conn: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """What PostgreSQL itself says about our tables: columns, constraints and indexes, each as
    PostgreSQL deparses it (so two ways of writing the same DDL compare equal)."""
    not_ours = "c.relname <> 'alembic_version' AND c.relnamespace = current_schema()::regnamespace"
    columns = conn.execute(
        sa.text(
            f"""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped AND {not_ours}
            """  # noqa: S608 - constant SQL
        )
    )
    constraints = conn.execute(
        sa.text(
            f"""
            SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            WHERE con.contype <> 'n' AND {not_ours}
            """  # noqa: S608 - constant SQL
        )
    )
    indexes = conn.execute(
        sa.text(
            f"""
            SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class c ON c.oid = x.indrelid
            WHERE {not_ours}
            """  # noqa: S608 - constant SQL
        )
    )
    return {
        "columns": {tuple(row) for row in columns},
        "constraints": {tuple(row) for row in constraints},
        "indexes": {tuple(row) for row in indexes},
    }


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def insert_user(conn: Connection, email: str, user_type: str = "candidate") -> int:
    user_id: int = conn.execute(
        sa.text(
            "INSERT INTO users (email, password_hash, first_name, last_name, user_type)"
            " VALUES (:email, 'x', 'Ada', 'Lovelace', :user_type) RETURNING id"
        ),
        {"email": email, "user_type": user_type},
    ).scalar_one()
    return user_id


@pytest.fixture
def seeded(connection: Connection) -> dict[str, int]:
    """One company user, one candidate, a company, an active job and an application (rolled back)."""
    employer = insert_user(connection, "boss@example.com", "company")
    candidate = insert_user(connection, "cand@example.com")
    company = connection.execute(
        sa.text("INSERT INTO companies (name, slug, created_by) VALUES ('Acme', 'acme', :u) RETURNING id"),
        {"u": employer},
    ).scalar_one()
    job = connection.execute(
        sa.text(
            "INSERT INTO jobs (company_id, posted_by, title, description, employment_type,"
            " experience_level, status) VALUES (:c, :u, 'Engineer', 'Builds things', 'full-time',"
            " 'mid', 'active') RETURNING id"
        ),
        {"c": company, "u": employer},
    ).scalar_one()
    application = connection.execute(
        sa.text("INSERT INTO job_applications (job_id, candidate_id) VALUES (:j, :c) RETURNING id"),
        {"j": job, "c": candidate},
    ).scalar_one()
    return {"employer": employer, "candidate": candidate, "company": company, "job": job,
            "application": application}


# ---- configuration ------------------------------------------------------------------------------


class TestAlembicConfig:
    def test_needs_no_ini_and_keeps_percent_signs(self) -> None:
        """The config points at the package's scripts and survives `%` in a password."""
        config = migrate.alembic_config("postgresql://app:p%25ss@db.example.com:5432/hotgigs")
        assert config.config_file_name is None
        assert config.get_main_option("script_location") == str(migrate.MIGRATIONS_DIR)
        url = make_url(config.get_main_option("sqlalchemy.url") or "")
        assert (url.drivername, url.password, url.database) == ("postgresql+psycopg", "p%ss", "hotgigs")

    def test_head_is_the_newest_script(self) -> None:
        assert migrate.head() == revisions_oldest_first()[-1]


# ---- upgrade, downgrade, round trip -----------------------------------------------------------


class TestUpgrade:
    def test_creates_every_table(self, postgres_url: str, at_head: Engine) -> None:
        """Upgrading to head creates all tables and records the head revision."""
        assert table_names(at_head) == TABLES | {"alembic_version"}
        assert migrate.current(postgres_url) == migrate.head()

    @pytest.mark.parametrize("name", sorted(SEED_INDEXES))
    def test_creates_seed_index_with_exact_name_and_columns(self, connection: Connection,
                                                            name: str) -> None:
        """Each of the seed's eight indexes exists as a plain btree over the same columns."""
        table, columns = SEED_INDEXES[name]
        index = index_definitions(connection)[name]
        assert (index.table_name, index.columns) == (table, columns)
        assert (index.method, index.is_unique, index.is_partial) == ("btree", False, False)
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        assert index.definition == (
            f"CREATE INDEX {name} ON {schema}.{table} USING btree ({', '.join(columns)})"
        )

    def test_creates_search_indexes(self, connection: Connection) -> None:
        """Full-text and trigram search have their GIN indexes."""
        indexes = index_definitions(connection)
        assert indexes["ix_jobs_search_vector"].method == "gin"
        assert indexes["ix_jobs_search_vector"].columns == ["search_vector"]
        for name in ("ix_jobs_location_trgm", "ix_candidate_profiles_location_trgm"):
            assert indexes[name].method == "gin"
            assert "lower((location)::text) gin_trgm_ops" in indexes[name].definition
        installed = connection.execute(
            sa.text("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
        ).scalar_one_or_none()
        assert installed == "pg_trgm"

    def test_every_foreign_key_has_an_index(self, connection: Connection) -> None:
        """Each foreign key's columns lead some index (deletes of the parent stay cheap)."""
        foreign_keys = connection.execute(
            sa.text(
                """
                SELECT con.conname, con.conrelid::regclass::text AS table_name,
                       array_agg(a.attname ORDER BY k.ord) AS columns
                FROM pg_constraint con
                CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                WHERE con.contype = 'f' AND con.connamespace = current_schema()::regnamespace
                GROUP BY con.conname, con.conrelid
                """
            )
        ).all()
        assert foreign_keys
        indexes = index_definitions(connection).values()
        for fk in foreign_keys:
            assert any(
                ix.table_name == fk.table_name and ix.columns[: len(fk.columns)] == fk.columns
                for ix in indexes
            ), f"{fk.conname}: no index starts with {fk.columns}"


class TestDowngrade:
    def test_to_base_removes_every_table(self, postgres_url: str, at_head: Engine) -> None:
        """Downgrading to base drops all tables and the helper function; pg_trgm stays."""
        migrate.downgrade(postgres_url, "base")
        assert table_names(at_head) <= {"alembic_version"}
        assert migrate.current(postgres_url) is None
        with at_head.connect() as conn:
            functions = conn.execute(
                sa.text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'hotgigs%'")
            ).scalar_one()
            extension = conn.execute(
                sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            ).scalar_one()
        assert functions == 0
        assert extension == 1  # documented: the migration leaves the extension installed

    def test_round_trip(self, postgres_url: str, at_head: Engine) -> None:
        """base -> head -> base -> head gives the same catalog twice."""
        with at_head.connect() as conn:
            first = describe_catalog(conn)
        migrate.downgrade(postgres_url, "base")
        migrate.upgrade(postgres_url, "head")
        migrate.downgrade(postgres_url, "base")
        migrate.upgrade(postgres_url, "head")
        with at_head.connect() as conn:
            assert describe_catalog(conn) == first
        assert table_names(at_head) == TABLES | {"alembic_version"}

    def test_each_revision_steps_up_and_down(self, postgres_url: str, engine: Engine) -> None:
        """Every revision upgrades from its predecessor and downgrades back, one at a time."""
        migrate.downgrade(postgres_url, "base")
        revisions = revisions_oldest_first()
        assert revisions[0] == "0001"
        for revision in revisions:
            migrate.upgrade(postgres_url, revision)
            assert migrate.current(postgres_url) == revision
        for expected in [*reversed(revisions[:-1]), None]:
            migrate.downgrade(postgres_url, "-1")
            assert migrate.current(postgres_url) == expected
        assert table_names(engine) <= {"alembic_version"}


# ---- models and migrations agree ----------------------------------------------------------------


class TestModelsMatchMigrations:
    def test_autogenerate_finds_no_difference(self, connection: Connection) -> None:
        """`alembic check` would pass: Alembic sees no difference between models and schema."""
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        with warnings.catch_warnings():
            # e.g. "Computed default on jobs.search_vector cannot be modified" is a difference
            warnings.simplefilter("error")
            differences = compare_metadata(context, Base.metadata)
        assert differences == []

    def test_create_all_builds_the_same_catalog(self, postgres_url: str, at_head: Engine) -> None:
        """The models' own DDL (`create_all`) and the migration give the same tables, columns,
        defaults, generated expression, constraints (names and bodies) and indexes (method,
        operator class, predicate): what Alembic's comparison does not look at."""
        with at_head.connect() as conn:
            migrated = describe_catalog(conn)
            function_sql = conn.execute(
                sa.text(
                    "SELECT pg_get_functiondef("
                    "'hotgigs_immutable_array_to_string(text[], text)'::regprocedure)"
                )
            ).scalar_one()
        name = f"{make_url(postgres_url).database}_models"
        admin = sa.create_engine(postgres_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        copy = sa.create_engine(make_url(postgres_url).set(database=name), poolclass=NullPool)
        try:
            with copy.begin() as conn:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                conn.execute(sa.text(function_sql))
                Base.metadata.create_all(conn)
            with copy.connect() as conn:
                from_models = describe_catalog(conn)
        finally:
            copy.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        for kind in ("columns", "constraints", "indexes"):
            assert from_models[kind] - migrated[kind] == set(), f"{kind} only in the models"
            assert migrated[kind] - from_models[kind] == set(), f"{kind} only in the migration"


# ---- what the schema does with data ---------------------------------------------------------------


class TestSearchVector:
    def test_is_generated_and_found_by_websearch(self, session: Session) -> None:
        """Inserting a job fills `search_vector`; `websearch_to_tsquery` finds it, title first."""
        owner = User(email="owner@example.com", password_hash=NOT_A_HASH, first_name="O",
                     last_name="W", user_type="company")
        session.add(owner)
        session.flush()
        company = Company(name="Acme", slug="acme", created_by=owner.id)
        session.add(company)
        session.flush()
        in_title = Job(company_id=company.id, posted_by=owner.id, title="Senior Python Developer",
                       description="Build our APIs.", requirements="Five years of backend work",
                       employment_type="full-time", experience_level="senior",
                       skills_required=["django", "postgresql"], status="active")
        in_description = Job(company_id=company.id, title="Backend Engineer",
                             description="A python developer who likes tests.",
                             employment_type="contract", experience_level="mid", status="active")
        unrelated = Job(company_id=company.id, title="Office Manager",
                        description="Keeps the office running.", employment_type="part-time",
                        experience_level="entry", status="active")
        session.add_all([in_title, in_description, unrelated])
        session.flush()

        query = sa.func.websearch_to_tsquery("english", "python developer")
        rank = sa.func.ts_rank(Job.search_vector, query)
        found = session.execute(
            sa.select(Job.id).where(Job.search_vector.op("@@")(query)).order_by(rank.desc())
        ).scalars().all()
        assert found == [in_title.id, in_description.id]

        vector = session.execute(
            sa.select(sa.cast(Job.search_vector, sa.Text)).where(Job.id == in_title.id)
        ).scalar_one()
        assert "'python':2A" in vector  # title weighs A
        assert "'django':4B" in vector  # skills weigh B
        assert "C" in vector.split("'backend':")[1].split(" ")[0]  # requirements weigh C

    def test_follows_updates_of_skills(self, connection: Connection, seeded: dict[str, int]) -> None:
        """Changing the skills array regenerates the vector (the immutable wrapper at work)."""
        connection.execute(sa.text("UPDATE jobs SET skills_required = ARRAY['kubernetes'] WHERE id = :j"),
                           {"j": seeded["job"]})
        found = connection.execute(sa.text(
            "SELECT id FROM jobs WHERE search_vector @@ websearch_to_tsquery('english', 'kubernetes')"
        )).scalars().all()
        assert found == [seeded["job"]]


# (SQL run against the seeded rows, constraint that must refuse it)
BAD_WRITES = [
    ("UPDATE jobs SET salary_min = 90000, salary_max = 50000 WHERE id = :job", "ck_jobs_salary_range"),
    ("UPDATE jobs SET salary_min = -1 WHERE id = :job", "ck_jobs_salary_min_non_negative"),
    ("UPDATE jobs SET salary_max = -1 WHERE id = :job", "ck_jobs_salary_max_non_negative"),
    ("UPDATE jobs SET status = 'published' WHERE id = :job", "ck_jobs_status"),
    ("UPDATE jobs SET employment_type = 'gig' WHERE id = :job", "ck_jobs_employment_type"),
    ("UPDATE jobs SET experience_level = 'guru' WHERE id = :job", "ck_jobs_experience_level"),
    ("UPDATE jobs SET currency = 'BTC' WHERE id = :job", "ck_jobs_currency"),
    ("UPDATE users SET user_type = 'freelance_recruiter' WHERE id = :candidate", "ck_users_user_type"),
    ("UPDATE users SET email = 'Cand@Example.com' WHERE id = :candidate", "ck_users_email_lowercase"),
    ("UPDATE job_applications SET status = 'pending' WHERE id = :application",
     "ck_job_applications_status"),
    ("INSERT INTO application_status_history (application_id, from_status, to_status)"
     " VALUES (:application, 'applied', 'accepted')", "ck_application_status_history_to_status"),
    ("INSERT INTO company_members (company_id, user_id, role) VALUES (:company, :candidate, 'owner')",
     "ck_company_members_role"),
    ("INSERT INTO candidate_profiles (user_id, availability) VALUES (:candidate, 'tomorrow')",
     "ck_candidate_profiles_availability"),
    ("INSERT INTO candidate_profiles (user_id, salary_min, salary_max) VALUES (:candidate, 10, 5)",
     "ck_candidate_profiles_salary_range"),
    ("INSERT INTO notifications (user_id, title, message, priority)"
     " VALUES (:candidate, 't', 'm', 'critical')", "ck_notifications_priority"),
    ("INSERT INTO notifications (user_id, title, message, notification_type)"
     " VALUES (:candidate, 't', 'm', 'spam')", "ck_notifications_notification_type"),
    ("INSERT INTO documents (owner_id, document_type, title, filename, content_type, size_bytes,"
     " sha256, content) VALUES (:candidate, 'video', 't', 'f', 'video/mp4', 1, repeat('a', 64), 'x')",
     "ck_documents_document_type"),
    ("INSERT INTO one_time_tokens (token_hash, user_id, purpose, expires_at)"
     " VALUES ('h', :candidate, 'login', now())", "ck_one_time_tokens_purpose"),
    ("INSERT INTO outbox_emails (to_address, subject, body_text, kind, status)"
     " VALUES ('a@b.c', 's', 'b', 'k', 'queued')", "ck_outbox_emails_status"),
    ("INSERT INTO experiences (user_id, title, company, start_date, end_date)"
     " VALUES (:candidate, 't', 'c', '2024-01-01', '2023-01-01')", "ck_experiences_dates_ordered"),
]


class TestConstraints:
    @pytest.mark.parametrize(("statement", "constraint"), BAD_WRITES,
                             ids=[constraint for _, constraint in BAD_WRITES])
    def test_check_constraint_refuses_bad_value(self, connection: Connection, seeded: dict[str, int],
                                                statement: str, constraint: str) -> None:
        """A value outside the vocabulary or range is refused by the named CHECK constraint."""
        with pytest.raises(sa.exc.IntegrityError) as caught, connection.begin_nested():
            connection.execute(sa.text(statement), seeded)
        assert isinstance(caught.value.orig, psycopg.errors.CheckViolation)
        assert caught.value.orig.diag.constraint_name == constraint

    @pytest.mark.parametrize(
        ("statement", "constraint"),
        [
            ("INSERT INTO users (email, password_hash, first_name, last_name, user_type)"
             " VALUES ('cand@example.com', 'x', 'A', 'B', 'candidate')", "uq_users_email"),
            ("INSERT INTO job_applications (job_id, candidate_id) VALUES (:job, :candidate)",
             "uq_job_applications_job_id_candidate_id"),
            ("INSERT INTO companies (name, slug) VALUES ('Acme 2', 'acme')", "uq_companies_slug"),
            ("INSERT INTO company_members (company_id, user_id, role)"
             " VALUES (:company, :employer, 'admin'), (:company, :employer, 'member')",
             "uq_company_members_company_id_user_id"),
        ],
        ids=["email", "application", "company_slug", "company_member"],
    )
    def test_unique_constraint_refuses_duplicate(self, connection: Connection, seeded: dict[str, int],
                                                 statement: str, constraint: str) -> None:
        """Duplicates are refused under a stable constraint name (what the 409 mapping keys on)."""
        with pytest.raises(sa.exc.IntegrityError) as caught, connection.begin_nested():
            connection.execute(sa.text(statement), seeded)
        assert isinstance(caught.value.orig, psycopg.errors.UniqueViolation)
        assert caught.value.orig.diag.constraint_name == constraint

    def test_deletes_cascade_or_set_null(self, connection: Connection, seeded: dict[str, int]) -> None:
        """Removing a candidate removes their applications; removing the employer keeps the job
        (posted_by becomes NULL); removing the company removes its jobs."""
        connection.execute(sa.text("DELETE FROM users WHERE id = :candidate"), seeded)
        assert connection.execute(sa.text("SELECT count(*) FROM job_applications")).scalar_one() == 0
        connection.execute(sa.text("DELETE FROM users WHERE id = :employer"), seeded)
        posted_by = connection.execute(sa.text("SELECT posted_by FROM jobs WHERE id = :job"), seeded)
        assert posted_by.scalar_one() is None
        connection.execute(sa.text("DELETE FROM companies WHERE id = :company"), seeded)
        assert connection.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one() == 0


class TestModelsOnTheSchema:
    def test_every_model_inserts_and_loads(self, session: Session) -> None:
        """Each model writes a row with server defaults filled in, and reads it back."""
        now = dt.datetime.now(dt.UTC)
        user = User(email="c@example.com", password_hash=NOT_A_HASH, first_name="C", last_name="D",
                    user_type="candidate")
        employer = User(email="e@example.com", password_hash=NOT_A_HASH, first_name="E", last_name="F",
                        user_type="company")
        session.add_all([user, employer])
        session.flush()
        company = Company(name="Acme", slug="acme", industry="software", company_size="11-50",
                          created_by=employer.id)
        session.add(company)
        session.flush()
        job = Job(company_id=company.id, posted_by=employer.id, title="Dev", description="d" * 60,
                  employment_type="full-time", experience_level="mid", salary_min=1, salary_max=2)
        document = Document(owner_id=user.id, document_type="resume", title="CV",
                            filename="cv.pdf", content_type="application/pdf", size_bytes=3,
                            sha256="0" * 64, content=b"pdf")
        session.add_all([
            job, document,
            CompanyMember(company_id=company.id, user_id=employer.id, role="admin"),
            CandidateProfile(user_id=user.id, skills=["python"], availability="2_weeks"),
            Experience(user_id=user.id, title="Dev", company="X", start_date=dt.date(2020, 1, 1)),
            Education(user_id=user.id, institution="Uni"),
            RefreshToken(jti="j1", user_id=user.id, family_id=uuid.uuid4(), expires_at=now),
            OneTimeToken(token_hash=NOT_A_HASH, user_id=user.id, purpose="verify_email", expires_at=now),
            Notification(user_id=user.id, title="Hi", message="Welcome", data={"k": [1, 2]}),
            NotificationPreference(user_id=user.id, muted_types=["job_alert"]),
            OutboxEmail(to_address="c@example.com", subject="Hi", body_text="Hello", kind="welcome"),
        ])
        session.flush()
        application = JobApplication(job_id=job.id, candidate_id=user.id,
                                     resume_document_id=document.id)
        session.add(application)
        session.flush()
        session.add(ApplicationStatusHistory(application_id=application.id, to_status="applied",
                                             changed_by=user.id))
        session.flush()
        session.expire_all()

        loaded = session.get_one(JobApplication, application.id)
        assert (loaded.status, loaded.version) == ("applied", 1)
        loaded.status = "screening"
        session.flush()
        assert loaded.version == 2  # optimistic lock column bumps on every ORM update

        job_row = session.get_one(Job, job.id)
        assert (job_row.status, job_row.currency, job_row.benefits) == ("draft", "USD", [])
        assert job_row.created_at.tzinfo is not None
        assert session.get_one(User, user.id).is_active is True
        assert session.scalars(sa.select(Notification.priority)).one() == "normal"
        assert session.scalars(sa.select(OutboxEmail.status)).one() == "pending"
        assert session.scalars(sa.select(NotificationPreference.email_enabled)).one() is True

        member = session.scalars(
            sa.select(CompanyMember).options(selectinload(CompanyMember.company))
        ).one()
        assert member.company.slug == "acme"
        with pytest.raises(sa.exc.InvalidRequestError):
            _ = session.get_one(Company, company.id).members  # lazy="raise": no hidden query
        with pytest.raises(sa.exc.InvalidRequestError):
            _ = session.get_one(Document, document.id).content  # bytes only when asked for
        with pytest.raises(sa.exc.InvalidRequestError):
            _ = job_row.search_vector  # SQL-only column


class TestConcurrentIndexMigration:
    """0008 builds its indexes CONCURRENTLY and can be run again after a failed build."""

    NAMES = ("ix_jobs_active_search_vector", "ix_jobs_active_location_trgm")

    def _validity(self, engine: Engine) -> dict[str, bool]:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT c.relname, i.indisvalid, pg_get_expr(i.indpred, i.indrelid) "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = ANY(:names)"), {"names": list(self.NAMES)}).all()
        assert all(predicate == "((status)::text = 'active'::text)" for _, _, predicate in rows)
        return {name: valid for name, valid, _ in rows}

    def test_partial_indexes_over_active_jobs(self, at_head: Engine) -> None:
        assert self._validity(at_head) == dict.fromkeys(self.NAMES, True)

    def test_rerun_rebuilds_an_index_a_failed_build_left_invalid(self, postgres_url: str,
                                                                 at_head: Engine) -> None:
        from alembic import command

        with at_head.begin() as conn:  # what an interrupted CREATE INDEX CONCURRENTLY leaves
            conn.execute(sa.text("UPDATE pg_index SET indisvalid = false "
                                 "WHERE indexrelid = 'ix_jobs_active_search_vector'::regclass"))
        assert self._validity(at_head)["ix_jobs_active_search_vector"] is False
        command.stamp(migrate.alembic_config(postgres_url), "0007")
        migrate.upgrade(postgres_url, "0008")  # 0008 again; later revisions are already applied
        assert self._validity(at_head) == dict.fromkeys(self.NAMES, True)
        command.stamp(migrate.alembic_config(postgres_url), "head")
        migrate.upgrade(postgres_url, "head")  # at head: nothing to do, nothing changes
        assert self._validity(at_head) == dict.fromkeys(self.NAMES, True)


class TestEncryptionAtRest:
    """0015 seals personal columns and adds the documents' envelope: what was stored before stays
    readable (legacy plain values, no key needed to migrate), the downgrade gives it back as it
    was, and refuses once anything is encrypted."""

    LEGACY_ROWS = """
        WITH u AS (INSERT INTO users (email, password_hash, first_name, last_name, user_type, phone)
                   VALUES ('legacy@example.com', 'x', 'Le', 'Gacy', 'candidate', '+1 555 0100')
                   RETURNING id),
             c AS (INSERT INTO companies (name, slug) VALUES ('Legacy Co', 'legacy-co') RETURNING id),
             j AS (INSERT INTO jobs (company_id, title, description, employment_type, experience_level)
                   SELECT c.id, 'Old job', 'Old job text', 'full-time', 'senior' FROM c RETURNING id),
             a AS (INSERT INTO job_applications (job_id, candidate_id, cover_letter, expected_salary,
                                                 notes, rejection_reason)
                   SELECT j.id, u.id, 'Old letter ✓', 65000, 'Old note', NULL FROM j, u RETURNING id),
             d AS (INSERT INTO documents (owner_id, document_type, title, filename, content_type,
                                          size_bytes, sha256, content, extracted_text)
                   SELECT u.id, 'resume', 'Old CV', 'old.txt', 'text/plain', 6, repeat('a', 64),
                          'old cv'::bytea, 'old cv text' FROM u RETURNING id)
        SELECT (SELECT id FROM u), (SELECT id FROM a), (SELECT id FROM d)"""

    def test_legacy_values_stay_readable_and_come_back_on_downgrade(self, postgres_url: str,
                                                                     engine: Engine) -> None:
        from hotgigs.models import sealed
        from hotgigs.security.encryption import KeyRing
        from hotgigs.settings import Kek

        migrate.downgrade(postgres_url, "base")
        migrate.upgrade(postgres_url, "0014")
        with engine.begin() as conn:
            user_id, application_id, document_id = conn.execute(sa.text(self.LEGACY_ROWS)).one()
        migrate.upgrade(postgres_url, "0015")
        sealed.attach(engine, KeyRing((Kek("m1", bytes(32)),)))
        with Session(engine) as session:
            assert session.get_one(User, user_id).phone == "+1 555 0100"
            application = session.get_one(JobApplication, application_id)
            assert (application.cover_letter, application.expected_salary, application.notes,
                    application.rejection_reason) == ("Old letter ✓", 65000, "Old note", None)
            document = session.scalars(sa.select(Document).where(Document.id == document_id)
                                       .options(sa.orm.undefer(Document.content),
                                                sa.orm.undefer(Document.extracted_text))).one()
            assert (document.kek_id, document.content, document.extracted_text) == (
                None, b"old cv", b"old cv text")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT phone FROM users WHERE id = :id"),
                               {"id": user_id}) == b"\x00+1 555 0100"
        migrate.downgrade(postgres_url, "0014")
        with engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT u.phone, a.cover_letter, a.expected_salary, d.extracted_text FROM users u, "
                "job_applications a, documents d WHERE u.id = :u AND a.id = :a AND d.id = :d"),
                {"u": user_id, "a": application_id, "d": document_id}).one() == (
                "+1 555 0100", "Old letter ✓", 65000, "old cv text")
        migrate.upgrade(postgres_url, "head")
        with Session(engine) as session:  # one value sealed now
            session.get_one(User, user_id).phone = "+1 555 0199"
            session.commit()
        with engine.connect() as conn:
            stored = conn.scalar(sa.text("SELECT phone FROM users WHERE id = :id"), {"id": user_id})
            assert stored[:1] == b"\x01" and b"0199" not in stored
        with pytest.raises(RuntimeError, match="1 documents or values are encrypted at rest"):
            migrate.downgrade(postgres_url, "0014")
        assert migrate.current(postgres_url) == migrate.head()
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM companies WHERE slug = 'legacy-co'"))
            conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})


class TestRollbackToAnOlderRelease:
    """A newer release migrated the schema past this release's head (a rollback by deploy):
    `hotgigs migrate` leaves the schema as it is instead of failing on the unknown revision."""

    NEWER = "9999"

    @pytest.fixture
    def ahead(self, at_head: Engine) -> Iterator[Engine]:
        head = migrate.head()
        with at_head.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": self.NEWER})
        yield at_head
        with at_head.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})

    def test_unknown_revision_names_it(self, postgres_url: str, at_head: Engine) -> None:
        assert migrate.unknown_revision(postgres_url) is None
        with at_head.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": self.NEWER})
        try:
            assert migrate.unknown_revision(postgres_url) == self.NEWER
        finally:
            with at_head.begin() as conn:
                conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                             {"v": migrate.head()})

    def test_cli_upgrade_leaves_a_newer_schema(self, postgres_url: str, ahead: Engine,
                                               tmp_path: Path) -> None:
        from tests.support.cli import run_cli

        env = {**os.environ, "DATABASE_URL": postgres_url, "HOTGIGS_DATA_DIR": str(tmp_path)}
        result = run_cli("migrate", env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"schema revision {self.NEWER} is newer than this release's newest" in result.stdout
        assert migrate.current(postgres_url) == self.NEWER
