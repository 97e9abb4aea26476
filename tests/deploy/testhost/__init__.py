"""A throwaway Debian 12 host with systemd as PID 1, for running the Ansible deploy for real.

`image` builds (once, cached) a bookworm root filesystem and a local flat apt repository with
every package the playbooks install; `network` makes a network namespace and veth pair per host;
`machine` boots the image with `systemd-nspawn --boot` in that namespace, reachable over SSH with
a generated key, and tears everything down again; `inventory` writes an Ansible inventory and a
vault with test secrets generated for the run.

    python -m tests.deploy.testhost build          # the image (3-4 minutes the first time)
    python -m tests.deploy.testhost shell          # boot one host and open a shell on it
"""
