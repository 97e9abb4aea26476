"""Encryption at rest (issue 18, items 4 and 7): documents' envelope columns, sealed personal
columns, and the table of key-encryption keys seen.

Existing rows stay readable: a document without `kek_id` is plain until `hotgigs keys rotate`
encrypts it; a personal column becomes bytea holding 0x00 + its UTF-8 text (a legacy plain
value, `hotgigs.security.encryption`), sealed by the same command. No key is needed here.

Not expand/contract: the columns change type (a table rewrite of users and job_applications)
and a release before this one cannot read them. The downgrade restores the plain types only
while nothing is encrypted yet; once something is, it refuses (a KEK would be needed).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (text columns, integer columns) sealed from now on
SEALED = {
    "users": (("phone",), ()),
    "job_applications": (("cover_letter", "notes", "interview_notes", "rejection_reason"),
                         ("expected_salary",)),
}
TEXT_TYPES = {("users", "phone"): "varchar(32)"}


def upgrade() -> None:
    op.create_table(
        "encryption_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("check_value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encryption_keys")),
    )
    op.add_column("documents", sa.Column("kek_id", sa.String(32), nullable=True))
    op.add_column("documents", sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
    op.add_column("documents", sa.Column("content_nonce", sa.LargeBinary(), nullable=True))
    op.create_index(op.f("ix_documents_kek_id"), "documents", ["kek_id"])
    op.execute("ALTER TABLE documents ALTER COLUMN extracted_text TYPE bytea "
               "USING convert_to(extracted_text, 'UTF8')")
    op.drop_constraint(op.f("ck_job_applications_expected_salary_non_negative"),
                       "job_applications", type_="check")
    for table, (texts, integers) in SEALED.items():
        for column in (*texts, *integers):
            source = f"{column}::text" if column in integers else column
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bytea USING "
                       f"CASE WHEN {column} IS NULL THEN NULL "
                       f"ELSE '\\x00'::bytea || convert_to({source}, 'UTF8') END")


def downgrade() -> None:
    bind = op.get_bind()
    encrypted = bind.scalar(sa.text("SELECT count(*) FROM documents WHERE kek_id IS NOT NULL"))
    for table, (texts, integers) in SEALED.items():
        for column in (*texts, *integers):
            encrypted += bind.scalar(sa.text(
                f"SELECT count(*) FROM {table} WHERE get_byte({column}, 0) <> 0"))  # noqa: S608
    if encrypted:
        raise RuntimeError(f"{encrypted} documents or values are encrypted at rest: the schema "
                           "before revision 0015 cannot hold them (restore a backup taken before "
                           "the upgrade, or stay on this release)")
    for table, (texts, integers) in SEALED.items():
        for column in (*texts, *integers):
            plain = f"convert_from(substring({column} from 2), 'UTF8')"
            target = "integer" if column in integers else TEXT_TYPES.get((table, column), "text")
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {target} USING "
                       f"({plain})::{target}")
    op.create_check_constraint(op.f("ck_job_applications_expected_salary_non_negative"),
                               "job_applications", "expected_salary >= 0")
    op.execute("ALTER TABLE documents ALTER COLUMN extracted_text TYPE text "
               "USING convert_from(extracted_text, 'UTF8')")
    op.drop_index(op.f("ix_documents_kek_id"), table_name="documents")
    for column in ("content_nonce", "wrapped_key", "kek_id"):
        op.drop_column("documents", column)
    op.drop_table("encryption_keys")
