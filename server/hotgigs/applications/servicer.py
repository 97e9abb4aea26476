"""`hotgigs.v1.ApplicationService`: protobuf in, applications service, protobuf out."""

from __future__ import annotations

import grpc
from sqlalchemy.orm import Session

from hotgigs.applications import convert, service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.models import JobApplication
from hotgigs.v1 import applications_pb2, applications_pb2_grpc, jobs_pb2


class ApplicationServicer(applications_pb2_grpc.ApplicationServiceServicer):
    """Thin transport layer over `hotgigs.applications.service`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def _many(session: Session, applications: list[JobApplication]
              ) -> list[applications_pb2.Application]:
        viewer = caller()
        return convert.applications_to_proto(
            service.views(session, viewer=viewer, applications=applications), viewer=viewer)

    def _one(self, session: Session, application: JobApplication) -> applications_pb2.Application:
        return self._many(session, [application])[0]

    def CreateApplication(self, request: applications_pb2.CreateApplicationRequest,
                          context: grpc.ServicerContext
                          ) -> applications_pb2.CreateApplicationResponse:
        application_in = convert.application_in(request)
        with self.database.session_scope() as session:
            view = service.apply(session, actor=caller(), application_in=application_in)
        return applications_pb2.CreateApplicationResponse(
            message="Application submitted successfully",
            application=convert.applications_to_proto([view], viewer=caller())[0])

    def ListApplications(self, request: applications_pb2.ListApplicationsRequest,
                         context: grpc.ServicerContext) -> applications_pb2.ListApplicationsResponse:
        list_in = convert.list_in(request)
        with self.database.read_connection() as connection:
            page = service.list_applications(connection, actor=caller(), list_in=list_in)
        return applications_pb2.ListApplicationsResponse(
            applications=convert.page_to_proto(page, viewer=caller()),
            pagination=convert.page_pagination(page))

    def GetApplication(self, request: applications_pb2.GetApplicationRequest,
                       context: grpc.ServicerContext) -> applications_pb2.GetApplicationResponse:
        with self.database.session_scope() as session:
            application, _ = service.get(session, actor=caller(), application_id=request.id)
            return applications_pb2.GetApplicationResponse(
                application=self._one(session, application))

    def UpdateApplication(self, request: applications_pb2.UpdateApplicationRequest,
                          context: grpc.ServicerContext
                          ) -> applications_pb2.UpdateApplicationResponse:
        with self.database.session_scope() as session:
            application = service.update(session, actor=caller(), application_id=request.id,
                                         update_in=convert.update_in(request))
            return applications_pb2.UpdateApplicationResponse(
                message="Application updated successfully",
                application=self._one(session, application))

    def WithdrawApplication(self, request: applications_pb2.WithdrawApplicationRequest,
                            context: grpc.ServicerContext
                            ) -> applications_pb2.WithdrawApplicationResponse:
        with self.database.session_scope() as session:
            application = service.withdraw(session, actor=caller(), application_id=request.id,
                                           reason=request.reason or None)
            return applications_pb2.WithdrawApplicationResponse(
                message="Application withdrawn", application=self._one(session, application))

    def ListApplicationsByJob(self, request: applications_pb2.ListApplicationsByJobRequest,
                              context: grpc.ServicerContext
                              ) -> applications_pb2.ListApplicationsByJobResponse:
        list_in = convert.job_list_in(request)
        with self.database.read_connection() as connection:
            page, counts = service.list_for_job(connection, actor=caller(), job_id=request.job_id,
                                                list_in=list_in)
        return applications_pb2.ListApplicationsByJobResponse(
            applications=convert.page_to_proto(page, viewer=caller()),
            pagination=convert.page_pagination(page), status_summary=counts)

    def ListJobApplications(self, request: jobs_pb2.ListJobApplicationsRequest,
                            context: grpc.ServicerContext) -> jobs_pb2.ListJobApplicationsResponse:
        """JobService.ListJobApplications (`served_by` in jobs/policy.py): the same data as
        ListApplicationsByJob."""
        list_in = convert.job_list_in(request)
        with self.database.read_connection() as connection:
            page, counts = service.list_for_job(connection, actor=caller(), job_id=request.id,
                                                list_in=list_in)
        return jobs_pb2.ListJobApplicationsResponse(
            applications=convert.page_to_proto(page, viewer=caller()),
            pagination=convert.page_pagination(page), status_summary=counts)

    def GetApplicationStats(self, request: applications_pb2.GetApplicationStatsRequest,
                            context: grpc.ServicerContext
                            ) -> applications_pb2.GetApplicationStatsResponse:
        actor = caller()
        with self.database.session_scope() as session:
            by_status = service.stats(session, actor=actor)
        return applications_pb2.GetApplicationStatsResponse(
            stats=applications_pb2.ApplicationStats(total=sum(by_status.values()),
                                                    by_status=by_status),
            user_type=actor.role)


def build(components: Components) -> ApplicationServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return ApplicationServicer(components.database)
