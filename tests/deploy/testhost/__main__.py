"""`python -m tests.deploy.testhost build|up [--hosts N]`: the image, or hosts until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from tests.deploy.testhost import image, inventory, machine
from tests.deploy.testhost.playbook import run_playbook

DOMAIN = "hotgigs.test"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deploy.testhost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build the image now (no-op when cached)")
    up = commands.add_parser("up", help="boot hosts, print how to reach them, tear down on Ctrl-C")
    up.add_argument("--hosts", type=int, default=1)
    up.add_argument("--deploy", action="store_true", help="write an inventory and run playbooks/deploy.yml")
    args = parser.parse_args(argv)
    if args.command == "build":
        with machine.exclusive():
            print(image.ensure_image().folder)
        return 0
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with machine.hosts_running(args.hosts, edge_names=(DOMAIN,)) as fleet:
        print(machine.describe(fleet), flush=True)
        if args.deploy:
            written = inventory.write(fleet, "single" if args.hosts == 1 else "split")
            print(f"  cd ansible && ANSIBLE_VAULT_PASSWORD_FILE={written.vault_password_file} "
                  f"ansible-playbook {' '.join(written.args())} playbooks/deploy.yml", flush=True)
            run_playbook("playbooks/deploy.yml", written, log=fleet.folder / "ansible.log")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
