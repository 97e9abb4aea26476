"""A network namespace per test host, linked to the host (and to each other) by veth pairs.

Host n (0, 1, ...) gets namespace `hgt<n>`; its link to the machine running the tests is
10.213.77.<4n+1>/30 (this side) <-> 10.213.77.<4n+2>/30 (the host). Two hosts also get a
direct link between their namespaces, 10.213.77.<4k+1> <-> 10.213.77.<4k+2> with k = 16 + the
pair's number, so they talk without routing through this machine (ip_forward stays 0). Or,
for three hosts and more, one private LAN instead: a bridge in namespace `hgtlan`, host n at
10.213.78.<10+n>/24 on its interface `lan` (like a production private network). No default
route: the test hosts reach nothing else.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass

from tests.deploy.testhost.procs import check

PREFIX = "10.213.77"
LAN_PREFIX = "10.213.78"
LAN_NAMESPACE = "hgtlan"


@dataclass(frozen=True)
class Link:
    """One /30: `near` is the address on this machine's side (or the first host's)."""

    index: int

    @property
    def near(self) -> str:
        return f"{PREFIX}.{4 * self.index + 1}"

    @property
    def far(self) -> str:
        return f"{PREFIX}.{4 * self.index + 2}"


def namespace(n: int) -> str:
    return f"hgt{n}"


def host_link(n: int) -> Link:
    """The link between this machine and host n."""
    return Link(n)


def peer_link(a: int, b: int) -> Link:
    """The link between hosts a < b (a's address is `near`)."""
    return Link(16 + a * 4 + b)


def _ip(*args: str) -> None:
    check(["ip", *args])


def create(n: int) -> None:
    """Namespace and veth pair for host n, addressed and up (replaces leftovers of a crashed run)."""
    ns, link = namespace(n), host_link(n)
    delete(n)
    _ip("netns", "add", ns)
    _ip("link", "add", f"{ns}-h", "type", "veth", "peer", "name", f"{ns}-c")
    _ip("link", "set", f"{ns}-c", "netns", ns)
    _ip("addr", "add", f"{link.near}/30", "dev", f"{ns}-h")
    _ip("link", "set", f"{ns}-h", "up")
    _ip("-n", ns, "addr", "add", f"{link.far}/30", "dev", f"{ns}-c")
    _ip("-n", ns, "link", "set", f"{ns}-c", "up")
    _ip("-n", ns, "link", "set", "lo", "up")


def connect(a: int, b: int) -> Link:
    """A veth pair between the namespaces of hosts a and b; the link (a is `near`)."""
    link = peer_link(a, b)
    ns_a, ns_b = namespace(a), namespace(b)
    _ip("-n", ns_a, "link", "add", f"p{b}", "type", "veth", "peer", "name", f"p{a}", "netns", ns_b)
    _ip("-n", ns_a, "addr", "add", f"{link.near}/30", "dev", f"p{b}")
    _ip("-n", ns_b, "addr", "add", f"{link.far}/30", "dev", f"p{a}")
    _ip("-n", ns_a, "link", "set", f"p{b}", "up")
    _ip("-n", ns_b, "link", "set", f"p{a}", "up")
    return link


def delete(n: int) -> None:
    """Remove host n's namespace (its veth ends go with it) and a leftover host-side end."""
    ns = namespace(n)
    with contextlib.suppress(RuntimeError):
        _ip("netns", "del", ns)
    subprocess.run(["ip", "link", "del", f"{ns}-h"], capture_output=True, check=False)


def lan_address(n: int) -> str:
    """Host n's address on the private LAN."""
    return f"{LAN_PREFIX}.{10 + n}"


def create_lan(count: int) -> None:
    """A bridge in its own namespace and one veth per host into it (hosts 0..count-1)."""
    delete_lan()
    _ip("netns", "add", LAN_NAMESPACE)
    _ip("-n", LAN_NAMESPACE, "link", "add", "br0", "type", "bridge")
    _ip("-n", LAN_NAMESPACE, "link", "set", "br0", "up")
    for n in range(count):
        ns = namespace(n)
        _ip("-n", ns, "link", "add", "lan", "type", "veth", "peer", "name", f"h{n}", "netns", LAN_NAMESPACE)
        _ip("-n", ns, "addr", "add", f"{lan_address(n)}/24", "dev", "lan")
        _ip("-n", ns, "link", "set", "lan", "up")
        _ip("-n", LAN_NAMESPACE, "link", "set", f"h{n}", "master", "br0")
        _ip("-n", LAN_NAMESPACE, "link", "set", f"h{n}", "up")


def delete_lan() -> None:
    """Remove the LAN's namespace (the bridge and the hosts' veth ends go with it)."""
    subprocess.run(["ip", "netns", "del", LAN_NAMESPACE], capture_output=True, check=False)
