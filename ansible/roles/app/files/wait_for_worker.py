"""Wait until a restarted worker answers SERVING to the health check Envoy uses.

    wait_for_worker.py UNIT ADDRESS:PORT TIMEOUT_SECONDS

Run by the app role with the release's Python (grpcio and grpc-health are in its virtualenv).
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


def main() -> int:
    unit, target, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    started = time.monotonic()
    pid = main_pid(unit)
    with grpc.insecure_channel(target) as channel:
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
