"""`hotgigs.v1.JobService`: protobuf in, jobs service, protobuf out."""

from __future__ import annotations

import grpc

from hotgigs import context as request_context
from hotgigs import visibility
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.rpc import ADMIN
from hotgigs.db import Database, Reads
from hotgigs.errors import InvalidArgument
from hotgigs.jobs import convert, policy, search, service, totals
from hotgigs.v1 import common_pb2, jobs_pb2, jobs_pb2_grpc


class JobServicer(jobs_pb2_grpc.JobServiceServicer):
    """Thin transport layer over `hotgigs.jobs.service` and `hotgigs.jobs.search`."""

    def __init__(self, database: Database, search_totals: totals.Totals | None = None,
                 reads: Reads | None = None) -> None:
        """`reads`: where public searches run (the read replica's router; None: `database`)."""
        self.database = database
        self.search_totals = search_totals
        self.reads: Reads = reads if reads is not None else database

    def SearchJobs(self, request: jobs_pb2.SearchJobsRequest,
                   context: grpc.ServicerContext) -> jobs_pb2.SearchJobsResponse:
        params = _params(request)
        result = self.reads.read(
            lambda connection: search.search(connection, params, store=self.search_totals))
        response = jobs_pb2.SearchJobsResponse(
            jobs=[convert.job_row_to_proto(row) for row in result.rows],
            pagination=common_pb2.OffsetPagination(limit=params.limit, offset=params.offset,
                                                    total=result.total),
            filters_applied=convert.filters_applied(params), next_cursor=result.next_cursor,
            total_is_lower_bound=result.total_is_lower_bound)
        if result.facets is not None:
            facets = response.facets
            facets.employment_type.update(result.facets["employment_type"])
            facets.experience_level.update(result.facets["experience_level"])
            facets.remote_work_allowed = result.facets["remote"]["true"]
        return response

    def GetJob(self, request: jobs_pb2.GetJobRequest,
               context: grpc.ServicerContext) -> jobs_pb2.GetJobResponse:
        with self.database.read_connection() as connection:
            detail = service.get(connection, actor=request_context.principal(), job_id=request.id)
        return jobs_pb2.GetJobResponse(job=convert.detail_to_proto(detail))

    def CreateJob(self, request: jobs_pb2.CreateJobRequest,
                  context: grpc.ServicerContext) -> jobs_pb2.CreateJobResponse:
        with self.database.session_scope() as session:
            job = service.create(session, actor=caller(), job_in=convert.job_in(request))
            response = jobs_pb2.CreateJobResponse(message="Job created successfully",
                                                  job=convert.job_to_proto(job))
        return response

    def UpdateJob(self, request: jobs_pb2.UpdateJobRequest,
                  context: grpc.ServicerContext) -> jobs_pb2.UpdateJobResponse:
        with self.database.session_scope() as session:
            job = service.update(session, actor=caller(), job_id=request.id,
                                 update_in=convert.job_update_in(request))
            response = jobs_pb2.UpdateJobResponse(message="Job updated successfully",
                                                  job=convert.job_to_proto(job))
        return response

    def _status(self, job_id: int, status: str) -> jobs_pb2.Job:
        with self.database.session_scope() as session:
            job = service.change_status(session, actor=caller(), job_id=job_id, status=status)
            message = convert.job_to_proto(job)
        return message

    def DeleteJob(self, request: jobs_pb2.DeleteJobRequest,
                  context: grpc.ServicerContext) -> jobs_pb2.DeleteJobResponse:
        return jobs_pb2.DeleteJobResponse(message="Job closed", job=self._status(request.id, "closed"))

    def PublishJob(self, request: jobs_pb2.PublishJobRequest,
                   context: grpc.ServicerContext) -> jobs_pb2.PublishJobResponse:
        return jobs_pb2.PublishJobResponse(message="Job published",
                                           job=self._status(request.id, "active"))

    def PauseJob(self, request: jobs_pb2.PauseJobRequest,
                 context: grpc.ServicerContext) -> jobs_pb2.PauseJobResponse:
        return jobs_pb2.PauseJobResponse(message="Job paused", job=self._status(request.id, "paused"))

    def GetJobStats(self, request: jobs_pb2.GetJobStatsRequest,
                    context: grpc.ServicerContext) -> jobs_pb2.GetJobStatsResponse:
        """Platform-wide counts for anyone (the number of applications only for admins), and
        each of the caller's companies' own counts."""
        company_id = request.company_id if request.HasField("company_id") else None
        actor = request_context.principal()
        platform = {visibility.ADMIN} if actor is not None and actor.role == ADMIN \
            else {visibility.PUBLIC}
        with self.database.session_scope() as session:
            public, per_company = service.stats(session, actor=actor, company_id=company_id)
            return jobs_pb2.GetJobStatsResponse(
                stats=visibility.strip(jobs_pb2.JobStats(**public), platform),
                company_stats=[jobs_pb2.CompanyJobStats(
                    company_id=company.id, company_name=company.name,
                    statistics=visibility.strip(jobs_pb2.JobStats(**stats), {visibility.MEMBER}))
                    for company, stats in per_company])


def search_total_key(request: jobs_pb2.SearchJobsRequest) -> tuple[str, str] | None:
    """Where the total of a SearchJobs request is kept, as (prefix, suffix) under the jobs
    generation (`policy.SEARCH_CACHE.companion`): the answer cache reads it in its look-up's
    round trip. None for a request the servicer will refuse."""
    try:
        params = _params(request)
    except InvalidArgument:
        return None
    return totals.key_prefix(policy.SEARCH_CACHE.generation), params.total_digest


def _params(request: jobs_pb2.SearchJobsRequest) -> search.SearchIn:
    """The request's validated parameters, made once per RPC (`RequestContext.parsed`)."""
    state = request_context.current()
    if state is not None and state.parsed is not None and state.parsed[0] is request:
        params: search.SearchIn = state.parsed[1]
        return params
    params = search.validate(convert.search_raw(request))
    if state is not None:
        state.parsed = (request, params)
    return params


def build(components: Components) -> JobServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return JobServicer(components.database,
                       totals.Totals(components.cache, track_lsn=components.replica is not None),
                       reads=components.reads)
