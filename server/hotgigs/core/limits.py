"""Input field limits, named once. A limit of a `String(n)` column is read from the column, so
validation and schema cannot drift apart; `Text` columns have no database limit and take the
product's limits below.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from hotgigs.models import Company, Document, Job, JobApplication, Notification, User


def column_length(attribute: InstrumentedAttribute[Any]) -> int:
    """The length `n` of a `String(n)` column."""
    column_type = attribute.property.columns[0].type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{attribute} is not a String(n) column")
    return column_type.length


# Tied to columns.
NAME: Final = column_length(User.first_name)  # first and last names
TITLE: Final = column_length(Job.title)  # job, document and notification titles, company names
LOCATION: Final = column_length(Job.location)
URL: Final = column_length(Company.website)  # profile, company and notification links
LONG_URL: Final = column_length(JobApplication.resume_url)
FILENAME: Final = column_length(Document.filename)
INDUSTRY: Final = column_length(Company.industry)
COMPANY_SIZE: Final = column_length(Company.company_size)
INTERVIEW_TYPE: Final = column_length(JobApplication.interview_type)
NOTIFICATION_TITLE: Final = column_length(Notification.title)

# Text columns: the product's limits.
PHONE: Final = 32  # users.phone is sealed (bytea), so the limit is the product's
LONG_TEXT: Final = 5000  # descriptions, cover letters, interview notes
TEXT: Final = 2000  # bio, notification message, document description
REQUIREMENTS: Final = 3000
REASON: Final = 1000  # status and withdrawal reasons, interview feedback
RESUME_TEXT: Final = 100_000
SEARCH_TEXT: Final = 200  # free-text search boxes
# Text arrays: items and their length.
TAG: Final = 50  # a skill or similar keyword
TAGS_MAX: Final = 20
