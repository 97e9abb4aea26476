"""Pure conversions between applications-module models and protobuf messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hotgigs import visibility
from hotgigs.applications import service
from hotgigs.applications.queries import CLOSED_TO_COMPANY
from hotgigs.context import Principal
from hotgigs.core.protos import optional, set_fields, timestamp
from hotgigs.models import ApplicationStatusHistory, Job, JobApplication, User
from hotgigs.v1 import applications_pb2, common_pb2, jobs_pb2


def _change(entry: ApplicationStatusHistory | Any) -> applications_pb2.ApplicationStatusChange:
    """A history entity or row (the history's columns)."""
    return applications_pb2.ApplicationStatusChange(
        from_status=entry.from_status or "", to_status=entry.to_status,
        changed_by=entry.changed_by or 0, reason=entry.reason or "",
        changed_at=timestamp(entry.changed_at))


def _application(application: JobApplication | Any,
                 history: Sequence[ApplicationStatusHistory | Any]) -> applications_pb2.Application:
    """The application's own fields, from an entity or a row of its columns."""
    message = applications_pb2.Application(
        id=application.id, job_id=application.job_id, candidate_id=application.candidate_id,
        status=application.status, cover_letter=application.cover_letter or "",
        resume_url=application.resume_url or "",
        availability_date=application.availability_date.isoformat()
        if application.availability_date else "",
        notes=application.notes or "", interview_date=timestamp(application.interview_at),
        interview_type=application.interview_type or "",
        interview_notes=application.interview_notes or "",
        rejection_reason=application.rejection_reason or "",
        applied_at=timestamp(application.applied_at), updated_at=timestamp(application.updated_at),
        status_history=[_change(entry) for entry in history])
    if application.resume_document_id is not None:
        message.resume_document_id = application.resume_document_id
    if application.expected_salary is not None:
        message.expected_salary = application.expected_salary
    return message


def application_to_proto(application: JobApplication, *, job: Job | None, candidate: User | None,
                         history: Sequence[ApplicationStatusHistory | Any]
                         ) -> applications_pb2.Application:
    """The whole application; `visible` then strips what the viewer may not see."""
    message = _application(application, history)
    if job is not None:
        message.job.CopyFrom(common_pb2.JobSummary(
            id=job.id, title=job.title, company_id=job.company_id, location=job.location or "",
            employment_type=job.employment_type, experience_level=job.experience_level,
            status=job.status, remote_work_allowed=job.remote_work_allowed))
    if candidate is not None:
        message.candidate.CopyFrom(common_pb2.UserSummary(
            id=candidate.id, first_name=candidate.first_name, last_name=candidate.last_name,
            user_type=candidate.user_type, profile_image_url=candidate.profile_image_url or "",
            email=candidate.email))
    return message


def application_row_to_proto(row: Any, history: Sequence[Any]) -> applications_pb2.Application:
    """A list row (applications.queries.list_page: the application's columns, its job's
    summary as `job_*`, its candidate's as `candidate_*`) straight into the whole message;
    `visible` then strips what the viewer may not see."""
    message = _application(row, history)
    message.job.CopyFrom(common_pb2.JobSummary(
        id=row.job_id, title=row.job_title, company_id=row.job_company_id,
        location=row.job_location or "", employment_type=row.job_employment_type,
        experience_level=row.job_experience_level, status=row.job_status,
        remote_work_allowed=row.job_remote_work_allowed))
    message.candidate.CopyFrom(common_pb2.UserSummary(
        id=row.candidate_id, first_name=row.candidate_first_name,
        last_name=row.candidate_last_name, user_type=row.candidate_user_type,
        profile_image_url=row.candidate_profile_image_url or "", email=row.candidate_email))
    return message


def page_to_proto(page: service.Page, *, viewer: Principal) -> list[applications_pb2.Application]:
    """Each application of a list's page as `viewer` may see it."""
    return [visible(application_row_to_proto(row, page.history[row.id]), viewer=viewer,
                    application=row, member=row.job_company_id in page.viewer_companies)
            for row in page.items]


def visible(message: applications_pb2.Application, *, viewer: Principal,
            application: JobApplication | Any, member: bool) -> applications_pb2.Application:
    """The application as `viewer` may see it (`member`: of the hiring company): the
    company's notes and staff ids stay with the company, the candidate's e-mail goes to the
    company only while the application is not withdrawn."""
    audiences = visibility.audiences(
        viewer, subject_id=application.candidate_id, member=member,
        applicant=member and application.status not in CLOSED_TO_COMPANY)
    visibility.strip(message, audiences)
    return message


def applications_to_proto(views: list[service.View], *, viewer: Principal
                          ) -> list[applications_pb2.Application]:
    """Each application as `viewer` may see it."""
    return [visible(application_to_proto(view.application, job=view.job, candidate=view.candidate,
                                         history=view.history),
                    viewer=viewer, application=view.application, member=view.member)
            for view in views]


def page_pagination(page: service.Page) -> common_pb2.PagePagination:
    return common_pb2.PagePagination(page=page.page, limit=page.limit, total=page.total,
                                     pages=page.pages)


def application_in(request: applications_pb2.CreateApplicationRequest) -> service.ApplicationIn:
    return service.ApplicationIn(
        job_id=request.job_id, cover_letter=request.cover_letter, resume_url=request.resume_url,
        expected_salary=optional(request, "expected_salary"),
        availability_date=request.availability_date,
        resume_document_id=optional(request, "resume_document_id"))


def update_in(request: applications_pb2.UpdateApplicationRequest) -> service.ApplicationUpdateIn:
    """The changes an update request carries (present fields) and its clear_fields."""
    interview = request.interview_date.ToDatetime(tzinfo=dt.UTC) \
        if request.HasField("interview_date") else None
    return service.ApplicationUpdateIn(
        **set_fields(request, ("status", "status_reason", "notes", "interview_type",
                               "interview_notes", "rejection_reason")),
        interview_date=interview, clear=tuple(request.clear_fields))


def list_in(request: applications_pb2.ListApplicationsRequest) -> service.ListIn:
    return service.ListIn(page=optional(request, "page"), limit=optional(request, "limit"),
                          status=request.status)


def job_list_in(request: applications_pb2.ListApplicationsByJobRequest
                | jobs_pb2.ListJobApplicationsRequest) -> service.JobListIn:
    return service.JobListIn(page=optional(request, "page"), limit=optional(request, "limit"),
                             status=request.status, sort_by=request.sort_by, order=request.order)
