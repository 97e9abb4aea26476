"""Native gRPC callers meet the same authentication, roles and error model as REST."""

from __future__ import annotations

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from hotgigs.v1 import auth_pb2, auth_pb2_grpc, companies_pb2, companies_pb2_grpc
from tests.support.rest import register


def metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def test_login_over_grpc_and_call_with_the_token(grpc_channel: grpc.Channel,
                                                 rest: httpx.Client) -> None:
    account = register(rest, "company")
    stub = auth_pb2_grpc.AuthServiceStub(grpc_channel)
    login = stub.Login(auth_pb2.LoginRequest(email=account["user"]["email"],
                                             password="Vx7!kQ9#mZ2p"), timeout=10)
    me = stub.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), metadata=metadata(login.access_token),
                             timeout=5)
    assert me.user.id == account["user"]["id"]


def test_candidate_is_denied_a_company_rpc_over_grpc(grpc_channel: grpc.Channel,
                                                      rest: httpx.Client) -> None:
    candidate = register(rest, "candidate")
    stub = companies_pb2_grpc.CompanyServiceStub(grpc_channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateCompany(companies_pb2.CreateCompanyRequest(name="Acme"),
                           metadata=metadata(candidate["access_token"]), timeout=5)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_missing_token_is_unauthenticated_over_grpc(grpc_channel: grpc.Channel) -> None:
    stub = auth_pb2_grpc.AuthServiceStub(grpc_channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_weak_password_details_over_grpc(grpc_channel: grpc.Channel) -> None:
    stub = auth_pb2_grpc.AuthServiceStub(grpc_channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.Register(auth_pb2.RegisterRequest(email="grpc-weak@example.com", password="abc",
                                               first_name="A", last_name="B",
                                               user_type="candidate"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    rules = {v.description.split(":")[0] for v in bad_request.field_violations
             if v.field == "password"}
    assert {"length", "uppercase", "digit", "special"} <= rules
