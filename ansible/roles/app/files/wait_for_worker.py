"""Wait until a restarted worker answers SERVING to the health check Envoy uses.

    wait_for_worker.py UNIT ADDRESS:PORT TIMEOUT_SECONDS [CA_FILE CERT_FILE KEY_FILE NAME]

Run by the app role with the release's Python (grpcio and grpc-health are in its virtualenv).
With the four TLS arguments (workers on gRPC over mutual TLS) it connects as Envoy does: the
host's certificate and key (role pki) as its client certificate, the worker's checked against
the CA and NAME (a subject alternative name of the worker's certificate: the host's inventory
name); without them a TLS worker would never answer and every rolling restart would time out.
Exits 0 once the worker is SERVING; exits 1 with a reason when its process exits in the
meantime (a release whose workers crash is detected at once, not after the timeout) or when
the timeout passes.
"""

import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICE = "hotgigs.v1.HealthService"


def main_pid(unit: str) -> str:
    return subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit],
                          capture_output=True, text=True, check=False).stdout.strip()


def read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def channel_to(target: str, tls: list[str]) -> grpc.Channel:
    """Plaintext, or mutual TLS with the host's certificate (CA, certificate, key, name)."""
    if not tls:
        return grpc.insecure_channel(target)
    ca_file, cert_file, key_file, name = tls
    credentials = grpc.ssl_channel_credentials(root_certificates=read(ca_file), private_key=read(key_file),
                                               certificate_chain=read(cert_file))
    return grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", name)])


def main() -> int:
    unit, target, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    tls = sys.argv[4:8]
    if len(sys.argv) not in (4, 8):
        print("usage: wait_for_worker.py UNIT ADDRESS:PORT TIMEOUT_SECONDS [CA_FILE CERT_FILE KEY_FILE NAME]")
        return 2
    started = time.monotonic()
    pid = main_pid(unit)
    with channel_to(target, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() - started < timeout:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    print(f"{unit} at {target}: SERVING after {time.monotonic() - started:.1f} s")
                    return 0
            except grpc.RpcError:
                pass
            now = main_pid(unit)
            if now != pid or now in ("", "0"):
                print(f"{unit} at {target}: its process exited after the restart, before it served")
                return 1
            time.sleep(0.5)
    print(f"{unit} at {target}: not SERVING after {timeout:.0f} s")
    return 1


if __name__ == "__main__":
    sys.exit(main())
