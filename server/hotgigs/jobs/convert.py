"""Pure conversions between jobs-module models and protobuf messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import timestamp_pb2

from hotgigs.companies.convert import company_summary
from hotgigs.core.protos import set_fields, timestamp
from hotgigs.jobs.search import SearchIn
from hotgigs.jobs.service import JobDetail, JobIn, JobUpdateIn
from hotgigs.models import Company, Job
from hotgigs.v1 import common_pb2, jobs_pb2


def job_to_proto(job: Job, company: Company | None = None,
                 application_count: int | None = None) -> jobs_pb2.Job:
    message = jobs_pb2.Job(
        id=job.id, company_id=job.company_id, title=job.title, description=job.description,
        requirements=job.requirements or "", location=job.location or "",
        employment_type=job.employment_type, experience_level=job.experience_level,
        currency=job.currency, skills_required=list(job.skills_required or []),
        benefits=list(job.benefits or []), remote_work_allowed=job.remote_work_allowed,
        status=job.status, application_deadline=timestamp(job.application_deadline),
        created_at=timestamp(job.created_at), updated_at=timestamp(job.updated_at),
        published_at=timestamp(job.published_at))
    if job.salary_min is not None:
        message.salary_min = job.salary_min
    if job.salary_max is not None:
        message.salary_max = job.salary_max
    if company is not None:
        message.company.CopyFrom(company_summary(company))
    if application_count is not None:
        message.application_count = application_count
    return message


def job_row_to_proto(row: Any) -> jobs_pb2.Job:
    """A search row (jobs.queries.search_page: the job's columns and its company's summary as
    `company_*`) straight into a message, without an entity in between."""
    message = jobs_pb2.Job(
        id=row.id, company_id=row.company_id, title=row.title, description=row.description,
        requirements=row.requirements or "", location=row.location or "",
        employment_type=row.employment_type, experience_level=row.experience_level,
        currency=row.currency, skills_required=row.skills_required or (),
        benefits=row.benefits or (), remote_work_allowed=row.remote_work_allowed,
        status=row.status, application_deadline=timestamp(row.application_deadline),
        created_at=timestamp(row.created_at), updated_at=timestamp(row.updated_at),
        published_at=timestamp(row.published_at),
        company=common_pb2.CompanySummary(
            id=row.company_id, name=row.company_name, logo_url=row.company_logo_url or "",
            industry=row.company_industry or "", location=row.company_location or "",
            company_size=row.company_size or ""))
    if row.salary_min is not None:
        message.salary_min = row.salary_min
    if row.salary_max is not None:
        message.salary_max = row.salary_max
    return message


def detail_to_proto(detail: JobDetail) -> jobs_pb2.Job:
    message = job_row_to_proto(detail.row)
    message.application_count = detail.application_count
    return message


def search_raw(request: jobs_pb2.SearchJobsRequest) -> dict[str, Any]:
    """The request's parameters as plain values for `search.validate`."""
    raw: dict[str, Any] = {
        "search": request.search, "location": request.location,
        "employment_type": request.employment_type, "experience_level": request.experience_level,
        "remote_only": request.remote_only if request.HasField("remote_only") else False,
        "skills": list(request.skills), "sort_by": request.sort_by, "order": request.order,
        "offset": request.offset, "cursor": request.cursor,
        "include_facets": request.include_facets,
    }
    for name in ("salary_min", "salary_max", "limit", "company_id"):
        if request.HasField(name):
            raw[name] = getattr(request, name)
    return raw


def filters_applied(params: SearchIn) -> jobs_pb2.JobSearchFilters:
    message = jobs_pb2.JobSearchFilters(sort_by=params.sort_by, order=params.order,
                                        skills=list(params.skills))
    for name in ("search", "location", "employment_type", "experience_level", "company_id"):
        value = getattr(params, name)
        if value is not None:
            setattr(message, name, value)
    if params.remote_only:
        message.remote_only = True
    if params.salary_min is not None:
        message.salary_range.min = params.salary_min
    if params.salary_max is not None:
        message.salary_range.max = params.salary_max
    return message


def deadline(value: timestamp_pb2.Timestamp, present: bool) -> dt.datetime | None:
    """A deadline field as an aware datetime, or None when the request did not set it."""
    return value.ToDatetime(tzinfo=dt.UTC) if present else None


_FIELDS = ("title", "description", "requirements", "location", "employment_type",
           "experience_level", "salary_min", "salary_max", "currency", "skills_required",
           "benefits", "remote_work_allowed")


def job_in(request: jobs_pb2.CreateJobRequest) -> JobIn:
    """The fields of a create request (the `optional` ones only when present)."""
    return JobIn(company_id=request.company_id, **set_fields(request, _FIELDS),
                 application_deadline=deadline(request.application_deadline,
                                               request.HasField("application_deadline")))


def job_update_in(request: jobs_pb2.UpdateJobRequest) -> JobUpdateIn:
    """The changes an update request carries: present fields, status and clear_fields."""
    return JobUpdateIn(**set_fields(request, (*_FIELDS, "status")),
                       application_deadline=deadline(request.application_deadline,
                                                     request.HasField("application_deadline")),
                       clear=tuple(request.clear_fields))
