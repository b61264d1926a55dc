"""Build a :class:`~ekslib.lab.plan.LabPlan` in a real kernel, and take it down.

pyroute2 (netlink) creates the namespaces, veth pairs, bridges, addresses, routes, policy rules and neighbours;
``iptables-restore`` and ``ebtables-restore`` load the rule text inside each namespace (``ip netns exec``), and
``sysctl`` sets its knobs there. Every call names a lab namespace: the host's own namespace gets no link,
address, route, rule, neighbour or netfilter rule (dataplane.md section 4, "Care"); :func:`in_namespace` checks
that it really left the host's namespace before it lets anything run.

Namespaces are named ``<prefix>-<pid>-<n>-<role>``; a lab whose process is gone is found by that pid and removed
(:func:`reclaim_stale`).

>>> parse_tag("ekslab-4242-0-vpc")
('ekslab', 4242)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from pathlib import Path

from ekslib.errors import EkslibError
from ekslib.lab.plan import LabPlan

PREFIX = "ekslab"
NETNS_DIR = Path("/run/netns")
#: The programs the lab runs inside its namespaces (Debian packages iproute2, iptables, conntrack).
PROGRAMS = ("ip", "nsenter", "iptables-restore", "iptables-save", "ebtables-restore", "conntrack")
_SCOPES = {"universe": 0, "site": 200, "link": 253, "host": 254}
_CLONE_NEWNET = 0x40000000
_NUD_NOARP, _NTF_MASTER = 0x40, 0x04
_NUD_PERMANENT, _NTF_PROXY, _IFA_F_NOPREFIXROUTE = 0x80, 0x08, 0x200
_TAG = re.compile(r"^(?P<prefix>[a-z]+)-(?P<pid>\d+)-\d+-")


def parse_tag(name: str) -> tuple[str, int] | None:
    """The prefix and owning process id of a lab namespace's name, or None for any other name."""
    match = _TAG.match(name)
    return (match["prefix"], int(match["pid"])) if match else None


def lab_support() -> tuple[bool, str]:
    """Whether a lab can run here, and if not, why, in one sentence.

    >>> ok, why = lab_support()
    >>> isinstance(ok, bool) and isinstance(why, str)
    True
    """
    if not sys.platform.startswith("linux"):
        return False, f"the lab needs Linux network namespaces; this is {sys.platform}"
    try:
        import pyroute2  # noqa: F401
    except ImportError:
        return False, "the lab needs pyroute2 (pip install -r requirements.txt)"
    missing = [p for p in PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).exists()]
    if missing:
        return False, (f"the lab needs {', '.join(missing)} (Debian: apt-get install iproute2 iptables conntrack)")
    if os.geteuid() != 0:
        return False, ("the lab needs root (CAP_NET_ADMIN) to create network namespaces; as a normal user run "
                       "`python -m ekslib lab verify`, which uses a user namespace where the system allows one")
    if not os.access("/proc/thread-self/ns/net", os.R_OK):
        return False, "this system does not show /proc/thread-self/ns/net (a locked-down container?)"
    try:
        probe = f"{PREFIX}-{os.getpid()}-999-probe"
        from pyroute2 import netns

        netns.create(probe)
        netns.remove(probe)
    except Exception as exc:  # a container without CAP_SYS_ADMIN, a read-only /run
        return False, f"this system does not let the lab create a network namespace ({exc})"
    return True, "network namespaces, iptables and conntrack are available"


#: Set inside the user namespace that :func:`user_namespace_command` makes (so that it is not made twice).
USERNS_ENV = "EKSLIB_LAB_USERNS"


def user_namespace_command(argv: list[str]) -> list[str] | None:
    """``argv`` wrapped to run as root of a new user namespace with its own network and mount namespaces
    (``unshare -rnm``) and a private tmpfs on /run/netns, where this system allows one (dataplane.md section 4:
    the whole lab ran so as a normal user); None where it does not. The host's network cannot be reached from
    there at all: the process itself starts in a new, empty network namespace."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    probe = subprocess.run([unshare, "-rnm", "true"], capture_output=True)
    if probe.returncode:
        return None
    script = ('mount -t tmpfs ekslab /run 2>/dev/null || exit 3; mkdir -p /run/netns; '
              f'export {USERNS_ENV}=1; exec "$@"')
    return [unshare, "-rnm", "sh", "-c", script, "sh", *argv]


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def lab_namespaces(prefix: str = PREFIX) -> list[str]:
    """The lab namespaces present on this machine (any process's), sorted."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(n.name for n in NETNS_DIR.iterdir() if (t := parse_tag(n.name)) and t[0] == prefix)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reclaim_stale(prefix: str = PREFIX) -> list[str]:
    """Remove the namespaces of labs whose process is gone (a killed notebook kernel); returns their names."""
    from pyroute2 import netns

    gone = [n for n in lab_namespaces(prefix) if not _alive(parse_tag(n)[1])]
    for name in gone:
        with contextlib.suppress(OSError):
            netns.remove(name)
    return gone


_HOST_NS: int | None = None


def host_namespace_inode() -> int:
    """The inode of the network namespace this process started in (the host's, for a lab)."""
    global _HOST_NS
    if _HOST_NS is None:
        _HOST_NS = os.stat("/proc/self/ns/net").st_ino
    return _HOST_NS


_LIBC = None


def _setns(fd: int) -> None:
    """setns(2) of this thread into the network namespace open at ``fd`` (13 us; pyroute2's netns.setns takes
    ~20 ms a call, too slow for a socket per namespace)."""
    global _LIBC
    if _LIBC is None:
        import ctypes

        _LIBC = ctypes.CDLL(None, use_errno=True)
    if _LIBC.setns(fd, _CLONE_NEWNET) != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), "setns failed")


@contextlib.contextmanager
def in_namespace(name: str) -> Iterator[None]:
    """Run the block in network namespace ``name`` (this thread only), then come back; sockets made inside stay
    in ``name``. Refuses to run the block if the switch did not leave the host's namespace."""
    host = host_namespace_inode()
    try:
        target = os.open(NETNS_DIR / name, os.O_RDONLY)
    except FileNotFoundError:
        raise EkslibError(f"no lab namespace {name!r}") from None
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(target)
        if os.stat("/proc/thread-self/ns/net").st_ino == host:
            raise EkslibError(f"switching to namespace {name!r} left this thread in the host's namespace")
        yield
    finally:
        _setns(back)
        os.close(back)
        os.close(target)


def _command(name: str, args: list[str]) -> list[str]:
    # nsenter (util-linux) enters only the network namespace: lighter than `ip netns exec`, which also makes a
    # mount namespace to remount /sys
    return [_exe("nsenter"), f"--net={NETNS_DIR / name}", *args]


def run_in(name: str, args: list[str], stdin: str | None = None, check: bool = True) -> str:
    """Run a program inside lab namespace ``name`` and return its output."""
    return run_many([(name, args, stdin)], check=check)[0]


def run_many(jobs: list[tuple[str, list[str], str | None]], check: bool = True) -> list[str]:
    """Run programs inside lab namespaces side by side (one process each); their outputs, in order."""
    started = []
    for name, args, stdin in jobs:
        if not (NETNS_DIR / name).exists():
            raise EkslibError(f"no lab namespace {name!r}")
        started.append(subprocess.Popen(_command(name, args), stdin=subprocess.PIPE if stdin is not None else
                                        subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
    outputs = []
    failure = ""
    for (name, args, stdin), process in zip(jobs, started):
        out, err = process.communicate(stdin)
        if process.returncode and not failure:
            failure = f"{' '.join(args[:2])} in namespace {name} failed: {err.strip()[:500]}"
        outputs.append(out)
    if check and failure:
        raise EkslibError(failure)
    return outputs


class Kernel:
    """A plan built in the kernel: ``up()`` creates it, ``down()`` removes every namespace it made."""

    def __init__(self, plan: LabPlan) -> None:
        self.plan = plan
        self.created: list[str] = []
        self.iproute: dict[str, object] = {}
        self.indexes: dict[tuple[str, str], int] = {}
        # every netlink call runs on the lab's own thread: pyroute2's synchronous API drives an asyncio loop,
        # which cannot run inside a notebook kernel's running loop, and its sockets belong to the thread that
        # opened them (from another thread pyroute2 would silently open one in that thread's namespace)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ekslab-netlink")
        self.thread = self._pool.submit(threading.get_ident).result()

    def _netlink(self, function, *args):
        if threading.get_ident() == self.thread:
            return function(*args)
        return self._pool.submit(function, *args).result()

    def ipr(self, ns: str):
        """An IPRoute socket opened inside lab namespace ``ns``."""
        if ns not in self.iproute:
            from pyroute2 import IPRoute

            if ns not in self.created:
                raise EkslibError(f"{ns!r} is not a namespace of this lab")
            with in_namespace(ns):
                ipr = IPRoute()
                _ = ipr.asyncore.socket  # pyroute2 opens its netlink socket lazily: open it here, inside ns
            links = {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
            if not links <= self.expected_links(ns):
                ipr.close()
                raise EkslibError(f"the netlink socket for {ns} sees {sorted(links)}: not the lab's namespace")
            self.iproute[ns] = ipr
        elif threading.get_ident() != self.thread:
            # pyroute2 opens a new socket per thread, in that thread's namespace: the host's, from another thread
            raise EkslibError("a lab is driven from the thread that started it")
        return self.iproute[ns]

    def expected_links(self, ns: str) -> set[str]:
        """The devices the plan puts in ``ns`` (and lo)."""
        names = {"lo"} | {b for n, b, _ in self.plan.bridges if n == ns}
        for link in self.plan.links:
            names |= {link.name_a} if link.ns_a == ns else set()
            names |= {link.name_b} if link.ns_b == ns else set()
        return names

    def index(self, ns: str, dev: str) -> int:
        key = (ns, dev)
        if key not in self.indexes:
            for link in self.ipr(ns).get_links():
                self.indexes[(ns, link.get_attr("IFLA_IFNAME"))] = link["index"]
        if key not in self.indexes:
            raise EkslibError(f"no device {dev!r} in lab namespace {ns}")
        return self.indexes[key]

    def up(self) -> None:
        """Create every namespace, link, address, route, rule and neighbour of the plan, and load its rules."""
        self._netlink(self._up)

    def _up(self) -> None:
        plan = self.plan
        # all namespaces in one `ip -batch` (2 ms each; pyroute2 forks a process per namespace)
        names = [space.name for space in plan.namespaces]
        taken = [n for n in names if (NETNS_DIR / n).exists()]
        if taken:
            raise EkslibError(f"lab namespace {taken[0]} exists already: another lab uses tag {plan.tag!r}")
        self.created.extend(names)
        done = subprocess.run([_exe("ip"), "-batch", "-"], input="".join(f"netns add {n}\n" for n in names),
                              capture_output=True, text=True)
        if done.returncode:
            raise EkslibError(f"ip netns add failed: {done.stderr.strip()[:300]}")
        for ns in self.created:
            ipr = self.ipr(ns)
            ipr.link("set", index=self.index(ns, "lo"), state="up")
        for ns, name, mtu in plan.bridges:
            self.ipr(ns).link("add", ifname=name, kind="bridge", mtu=mtu)
        for link in plan.links:
            self.ipr(link.ns_a).link("add", ifname=link.name_a, kind="veth", address=link.mac_a, mtu=link.mtu,
                                     peer={"ifname": link.name_b, "address": link.mac_b, "mtu": link.mtu,
                                           "net_ns_fd": str(NETNS_DIR / link.ns_b)})
        self.indexes.clear()
        for link in plan.links:
            if link.master_b:
                self.ipr(link.ns_b).link("set", index=self.index(link.ns_b, link.name_b),
                                         master=self.index(link.ns_b, link.master_b))
        for link in plan.links:
            if link.master_b:  # the VPC knows where every ENI is: no learning, no flooding of unknown unicast
                port = self.index(link.ns_b, link.name_b)
                self.ipr(link.ns_b).brport("set", index=port, learning=0, unicast_flood=0)
                self.ipr(link.ns_b).fdb("add", ifindex=port, lladdr=link.mac_a, flags=_NTF_MASTER,
                                        state=_NUD_NOARP)
        for ns, name, _ in plan.bridges:
            self.ipr(ns).link("set", index=self.index(ns, name), state="up")
        for link in plan.links:
            self.ipr(link.ns_a).link("set", index=self.index(link.ns_a, link.name_a), state="up")
            self.ipr(link.ns_b).link("set", index=self.index(link.ns_b, link.name_b), state="up")
        self.load_rules()
        for a in plan.addresses:
            self.ipr(a.ns).addr("add", index=self.index(a.ns, a.dev), address=str(a.address), prefixlen=a.prefixlen,
                                **({"flags": _IFA_F_NOPREFIXROUTE} if a.noprefixroute else {}))
        for r in sorted(plan.routes, key=lambda r: r.route.via is not None):  # a gateway's link route first
            self._add_route(r)
        for rule in plan.rules:
            self._rule("add", rule)
        for n in plan.neighbours:
            index = self.index(n.ns, n.dev)
            if n.proxy:
                self.ipr(n.ns).neigh("add", dst=str(n.address), ifindex=index, flags=_NTF_PROXY)
            else:
                self.ipr(n.ns).neigh("replace", dst=str(n.address), lladdr=n.lladdr, ifindex=index,
                                     state=_NUD_PERMANENT)

    def add_route(self, r) -> None:
        self._netlink(self._add_route, r)

    def _add_route(self, r) -> None:
        route = r.route
        spec = {"table": r.table, "oif": self.index(r.ns, route.dev), "scope": _SCOPES[route.scope or "universe"]}
        if route.destination is not None:
            spec.update(dst=str(route.destination.network_address), dst_len=route.destination.prefixlen)
        if route.via is not None:
            spec["gateway"] = str(route.via)
        if route.src is not None:
            spec["prefsrc"] = str(route.src)
        if route.proto == "kernel":
            spec["proto"] = 2
        try:
            self.ipr(r.ns).route("replace", **spec)
        except Exception as exc:
            raise EkslibError(f"route {route.text()!r} (table {r.table}) in {r.ns}: {exc}") from exc

    def rule(self, command: str, rule) -> None:
        self._netlink(self._rule, command, rule)

    def _rule(self, command: str, rule) -> None:
        spec: dict[str, object] = {"priority": rule.priority, "table": rule.table}
        for side, net in (("src", rule.src), ("dst", rule.dst)):
            if isinstance(net, IPv4Network):
                spec[side], spec[f"{side}_len"] = str(net.network_address), net.prefixlen
        if rule.fwmark is not None:
            spec["fwmark"], spec["fwmask"] = rule.fwmark
        self.ipr(rule.ns).rule(command, **spec)

    def load_rules(self, only: set[str] | None = None) -> None:
        """sysctls, iptables and ebtables of every namespace that has them (``only`` these namespaces, after a
        reconfiguration)."""
        jobs = []
        for space in self.plan.namespaces:
            if only is not None and space.name not in only:
                continue
            if not (space.sysctls or space.iptables or space.ebtables):
                continue
            script = []
            if space.sysctls:
                script.append("sysctl -q -w " + " ".join(f"{k}={v}" for k, v in space.sysctls))
            if space.iptables:
                script.append("iptables-restore <<'EKSLAB'\n" + space.iptables + "EKSLAB")
            if space.ebtables:
                script.append("ebtables-restore <<'EKSLAB'\n" + space.ebtables + "EKSLAB")
            if space.role == "node":  # answer ARP for a secondary address at once (proxy_delay, in jiffies)
                devices = sorted({n.dev for n in self.plan.neighbours if n.ns == space.name and n.proxy})
                if devices:
                    script.append("sysctl -q -w " + " ".join(f"net.ipv4.neigh.{d}.proxy_delay=0" for d in devices))
            jobs.append((space.name, ["sh", "-ec", "\n".join(script)], None))
        run_many(jobs)

    def down(self) -> None:
        from pyroute2 import netns

        def close() -> None:
            for ipr in self.iproute.values():
                with contextlib.suppress(Exception):
                    ipr.close()

        self._netlink(close)
        self._pool.shutdown(wait=False)
        self.iproute.clear()
        self.indexes.clear()
        for name in reversed(self.created):
            with contextlib.suppress(OSError):
                netns.remove(name)
        self.created.clear()
