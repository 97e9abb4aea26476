"""The field-visibility rules: the README's table is the code's, and stripping works as told."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotgigs import visibility
from hotgigs.v1 import applications_pb2, common_pb2

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- visibility-table:start -->\n", "<!-- visibility-table:end -->"


def test_the_readme_table_is_the_one_the_code_enforces() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "README lost its 'Who sees what' markers"
    documented = text.split(START, 1)[1].split(END, 1)[0]
    assert documented == visibility.table(), (
        "README's 'Who sees what' table differs from hotgigs/visibility.py; paste the output "
        "of `hotgigs visibility-table` between the markers")


def test_the_cli_prints_the_table() -> None:
    result = subprocess.run([sys.executable, "-m", "hotgigs.cli", "visibility-table"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == visibility.table()


@pytest.mark.parametrize("rule", visibility.RULES, ids=lambda r: f"{r.message}.{r.path}")
def test_every_rule_names_a_real_field(rule: visibility.Rule) -> None:
    from google.protobuf import descriptor_pool

    import hotgigs.v1  # noqa: F401  (registers the descriptors)

    for module in ("ai", "applications", "candidates", "companies", "jobs", "users"):
        __import__(f"hotgigs.v1.{module}_pb2")
    descriptor = descriptor_pool.Default().FindMessageTypeByName(rule.message)
    for part in rule.path.split("."):
        field = descriptor.fields_by_name[part]
        descriptor = field.message_type
    assert rule.audiences, "a rule must name who sees the field"


def test_strip_clears_nested_and_repeated_fields_for_outsiders_only() -> None:
    def application() -> applications_pb2.Application:
        return applications_pb2.Application(
            id=1, notes="internal", candidate=common_pb2.UserSummary(id=7, email="a@b.test"),
            status_history=[applications_pb2.ApplicationStatusChange(changed_by=3),
                            applications_pb2.ApplicationStatusChange(changed_by=4)])

    candidate = visibility.strip(application(), {visibility.SELF})
    assert candidate.notes == "" and candidate.candidate.email == "a@b.test"
    assert [c.changed_by for c in candidate.status_history] == [0, 0]
    member = visibility.strip(application(), {visibility.MEMBER})
    assert member.notes == "internal" and member.candidate.email == ""
    assert [c.changed_by for c in member.status_history] == [3, 4]
    assert visibility.strip(application(), {visibility.ADMIN}) == application()
    assert not visibility.visible("hotgigs.v1.Application", "notes", {visibility.SELF})
    assert visibility.visible("hotgigs.v1.Application", "cover_letter", {visibility.PUBLIC})
