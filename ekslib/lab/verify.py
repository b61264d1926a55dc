"""The engine checked against the kernel: every scenario the kernel can play, predicted vs observed.

For each case the engine traces the scenario (:func:`ekslib.flows.scenario`) and the lab sends the same first
packet (same source, destination and source port) through the same rules in real namespaces. Compared: whether
the request was delivered, the source address the receiver saw, whether the client accepted the reply, and
every conntrack entry of the nodes, the NAT gateway and the load balancer (both tuples and the connection mark).
Ports that a SNAT or MASQUERADE picks at random are shown as ``*`` on both sides; the client's own source port
as ``sport``.

Random choices (kube-proxy's endpoint, a load balancer's target) are the kernel's own: the lab repeats the
connection (up to :data:`RETRIES` times) until the kernel picks what the engine picked, and if it never does,
the engine is asked again with the kernel's choice (``endpoint=``, ``target=``), so both sides always describe
the same path.

>>> [c.scenario for c in CASES][:2]
['pod-to-pod-same-node', 'pod-to-pod-same-node']
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ekslib.errors import EkslibError
from ekslib.flows.flow import Address, ConntrackEntry, Flow
from ekslib.flows.scenarios import SCENARIOS, scenario, scenario_setup

#: How many times a connection is repeated for the kernel's random choice to match the engine's.
RETRIES = 8


@dataclass(frozen=True)
class Case:
    """A scenario with its options, and a short label."""

    scenario: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def text(self) -> str:
        return self.label or ", ".join(f"{k}={v}" for k, v in self.options.items()) or "default"


#: Every scenario of notebooks 04-06 the kernel can play, with the variants the notebooks teach.
CASES: tuple[Case, ...] = (
    Case("pod-to-pod-same-node"),
    Case("pod-to-pod-same-node", {"secondary_eni": True}),
    Case("pod-to-pod-cross-node"),
    Case("pod-to-pod-cross-node", {"secondary_eni": True}),
    Case("pod-to-internet"),
    Case("pod-to-internet", {"secondary_eni": True}),
    Case("pod-to-internet", {"destination": "peered-vpc"}),
    Case("pod-to-internet", {"destination": "peered-vpc", "exclude_snat_cidrs": ("10.20.0.0/16",)}),
    Case("pod-to-internet", {"external_snat": True}),
    Case("pod-to-internet", {"layout": "legacy"}),
    Case("host-network-egress"),
    Case("pod-to-service"),
    Case("pod-to-service", {"hairpin": True}),
    Case("pod-to-service", {"host_network": True}),
    Case("pod-to-internet", {"subnet": "public"}),
    Case("pod-to-internet", {"subnet": "public", "external_snat": True}),
    Case("host-network-egress", {"subnet": "public"}),
    Case("nodeport"),
    Case("nodeport", {"secondary_eni": True}),
    Case("nodeport", {"secondary_eni": True, "connmark": False}),
    Case("nodeport", {"external_traffic_policy": "Local"}),
    Case("nodeport", {"external_traffic_policy": "Local", "local_endpoint": False}),
    Case("loadbalancer"),
    Case("loadbalancer", {"external_traffic_policy": "Cluster"}),
    Case("loadbalancer", {"target_type": "ip"}),
    Case("loadbalancer", {"target_type": "ip", "preserve_client_ip": True}),
    Case("loadbalancer", {"protocol": "udp"}),
    Case("loadbalancer", {"kind": "clb"}),
    Case("loadbalancer", {"hairpin": True}),
)

#: What the lab does not play, and why (:func:`not_played` adds what this kernel lacks).
NOT_PLAYED: dict[str, str] = {
    "overlay-pod-to-pod": "the lab builds the VPC CNI's routed data plane; flannel's VXLAN overlay is a contrast "
                          "only the engine draws",
    "kube-proxy IPVS mode": "the lab loads kube-proxy's iptables mode, as the engine walks it; the engine models "
                            "IPVS only as a cost (rules_traversed)",
}


def not_played() -> dict[str, str]:
    """:data:`NOT_PLAYED`, saying whether this kernel could do IPVS at all (``/proc/net/ip_vs``)."""
    import os

    out = dict(NOT_PLAYED)
    if not os.path.exists("/proc/net/ip_vs"):
        out["kube-proxy IPVS mode"] = ("this kernel has no IPVS (no ip_vs module, and none can be loaded here); "
                                       + out["kube-proxy IPVS mode"])
    return out


def _port_token(port: int | None, keep: set[int], client_port: int) -> str:
    if port is None:
        return ""
    if port == client_port:
        return "sport"
    return str(port) if port in keep else "*"


def normalise(entries: Iterable[ConntrackEntry], keep: set[int], client_port: int,
              zones: set[str] | None = None) -> tuple[str, ...]:
    """Conntrack entries as comparable text: ``zone proto orig-src > orig-dst | reply-src > reply-dst mark``,
    with random ports as ``*`` and the client's port as ``sport``; sorted."""
    def addr(a: Address) -> str:
        return f"{a.ip}:{_port_token(a.port, keep, client_port)}"

    out = []
    for e in entries:
        if zones is not None and e.zone not in zones:
            continue
        out.append(f"{e.zone}: {e.protocol} {addr(e.original_src)} > {addr(e.original_dst)} | "
                   f"{addr(e.reply_src)} > {addr(e.reply_dst)} mark={e.mark}")
    return tuple(sorted(out))


def _fixed_ports(cluster, dialed: Address) -> set[int]:
    keep = {dialed.port} if dialed.port else set()
    for svc in cluster.services:
        for p in svc.ports:
            keep |= {p.port, p.node_port or 0}
            if isinstance(p.target_port, int):
                keep.add(p.target_port)
        if svc.health_check_node_port:
            keep.add(svc.health_check_node_port)
    return keep - {0}


def _receiver_label(flow: Flow) -> str:
    return flow.receiver.removeprefix("pod ") if flow.delivered else ""


def _lb_target(entries: Iterable[ConntrackEntry], lab) -> str | None:
    """The target a load balancer picked (a node's name for instance targets, else the address), read from its
    conntrack entry: the kernel's (an Observation's) or the engine's (a Flow's)."""
    for e in entries:
        if e.zone.startswith("LB "):
            node = next((n.name for n in lab.cluster.nodes if n.address == e.reply_src.ip), None)
            return node or str(e.reply_src.ip)
    return None


def play(lab, case: Case) -> dict[str, Any]:
    """Play one case in a running lab (already holding the case's cluster and settings); one result row."""
    flow = scenario(case.scenario, **case.options)
    first = flow.hops[0]
    dialed, sport = first.dst, first.src.port
    want = (_receiver_label(flow), _lb_target(flow.conntrack, lab))
    obs = None
    for attempt in range(RETRIES):
        obs = lab.replay(flow, sport=sport + attempt)
        if (obs.receiver, _lb_target(obs.conntrack, lab)) == want or not flow.probabilities:
            break
    client_port = sport + attempt
    if obs.receiver and (obs.receiver, _lb_target(obs.conntrack, lab)) != want:
        # the kernel never picked the engine's endpoint: ask the engine about the kernel's choice
        retrace = dict(case.options)
        retrace["endpoint"] = str(lab.address_of(obs.receiver)) if obs.receiver in \
            {p.key for p in lab.cluster.pods} else None
        target = _lb_target(obs.conntrack, lab)
        if target:
            retrace["target"] = target
        flow = scenario(case.scenario, **{k: v for k, v in retrace.items() if v is not None})
    keep = _fixed_ports(lab.cluster, dialed)
    zones = {e.zone for e in obs.conntrack} | {e.zone for e in flow.conntrack}
    predicted_ct = normalise(flow.conntrack, keep, sport, zones)
    observed_ct = normalise(obs.conntrack, keep, client_port, zones)
    pred_src = flow.seen_source
    obs_src = obs.seen_source

    def src_text(a: Address | None, client: int) -> str:
        return "" if a is None else f"{a.ip}:{_port_token(a.port, keep, client)}"

    row = {
        "scenario": case.scenario, "case": case.text, "played": True,
        "predicted delivered": flow.delivered, "observed delivered": obs.delivered,
        "predicted receiver": _receiver_label(flow), "observed receiver": obs.receiver,
        "predicted source seen": src_text(pred_src if flow.delivered else None, sport),
        "observed source seen": src_text(obs_src if obs.delivered else None, client_port),
        "predicted reply accepted": flow.reply_accepted, "observed reply accepted": obs.reply_accepted,
        "predicted conntrack": "\n".join(predicted_ct), "observed conntrack": "\n".join(observed_ct),
        "kernel dropped at": "; ".join(f"{d.stands_for}: {d.rule}" for d in obs.dropped),
        "engine says": flow.drop_reason or (flow.reply.drop_reason if flow.reply else ""),
        "attempts": attempt + 1,
    }
    pairs = [("delivered", "delivered"), ("receiver", "receiver"), ("source seen", "source seen"),
             ("reply accepted", "reply accepted"), ("conntrack", "conntrack")]
    differences = [name for name, key in pairs if row[f"predicted {key}"] != row[f"observed {key}"]]
    row["match"] = not differences
    row["differences"] = ", ".join(differences)
    return row


def _group(cases: Iterable[Case]) -> list[tuple[Any, list[Case]]]:
    """Cases grouped by the lab they need: one lab per set of links (nodes, pods, load balancer ports)."""
    from ekslib.flows.vpc import VpcFabric

    groups: dict[Any, list[Case]] = {}
    for case in cases:
        cluster, _ = scenario_setup(case.scenario, **case.options)
        fabric = VpcFabric.of(cluster)
        key = (cluster.subnets, tuple(cluster.nodes), tuple((p.key, p.address) for p in cluster.pods),
               tuple(lb.private_ips for lb in fabric.load_balancers.values()))
        groups.setdefault(key, []).append(case)
    return list(groups.items())


def verify(scenarios: Iterable[str] | None = None, *, cases: Iterable[Case] | None = None,
           progress: Any = None) -> pd.DataFrame:
    """Predicted vs observed for every case of ``scenarios`` (default: all of :data:`CASES`), one row each,
    plus one row per thing the kernel here cannot play (``played`` False). Needs a lab (:func:`lab_support`).

    ``progress`` is called with ``(done, total, label)`` after each case.
    """
    from ekslib.lab.kernel import lab_support
    from ekslib.lab.lab import Lab

    ok, why = lab_support()
    if not ok and cases is None:
        return _verify_in_user_namespace(scenarios, why)
    chosen = list(cases) if cases is not None else list(CASES)
    if scenarios is not None:
        names = list(scenarios)
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            raise EkslibError(f"unknown scenario {unknown[0]!r}; scenarios: {', '.join(SCENARIOS)}")
        chosen = [c for c in chosen if c.scenario in names]
    rows = []
    done = 0
    for _, group in _group(chosen):
        group = [(chosen.index(case), case) for case in group]
        cluster, cni = scenario_setup(group[0][1].scenario, **group[0][1].options)
        with Lab(cluster, cni=cni) as lab:
            for index, case in group:
                c, s = scenario_setup(case.scenario, **case.options)
                if c is not lab.cluster or s != lab.cni:
                    lab.reconfigure(c, cni=s)
                started = time.perf_counter()
                row = play(lab, case)
                row["seconds"] = round(time.perf_counter() - started, 3)
                rows.append((index, row))
                done += 1
                if progress is not None:
                    progress(done, len(chosen), f"{case.scenario} ({case.text})")
    rows = [row for _, row in sorted(rows, key=lambda r: r[0])]
    if scenarios is None or any(n in NOT_PLAYED for n in scenarios):
        for name, why in not_played().items():
            rows.append({"scenario": name, "case": "", "played": False, "match": None, "differences": why})
    return pd.DataFrame(rows)


def _verify_in_user_namespace(scenarios: Iterable[str] | None, why: str) -> pd.DataFrame:
    """:func:`verify` as a normal user: ``python -m ekslib lab verify`` inside a user namespace, read back."""
    import json
    import os
    import subprocess
    import sys

    from ekslib.lab.kernel import USERNS_ENV, user_namespace_command

    argv = [sys.executable, "-m", "ekslib", "lab", "verify", "--format", "json", "--quiet"]
    if scenarios is not None:
        argv += ["--scenario", *scenarios]
    root = getattr(os, "geteuid", lambda: -1)() == 0
    wrapped = None if root or os.environ.get(USERNS_ENV) else user_namespace_command(argv)
    if wrapped is None:
        raise EkslibError(f"no lab here: {why}")
    done = subprocess.run(wrapped, capture_output=True, text=True)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise EkslibError(f"the lab in a user namespace failed: {done.stderr.strip()[-500:]}")
    return pd.DataFrame(json.loads(done.stdout))


def compare_walk(walk, flow: Flow) -> pd.DataFrame:
    """The kernel's chain walk (:meth:`ekslib.lab.Lab.chain_walk`) beside the engine's netfilter hops of the
    same first packet in the same node: one row per rule either side matched, in order, and whether they agree."""
    kernel = walk.rules()
    engine = [f"{h.where.table} {h.where.chain}: {h.rule}" for h in flow.hops
              if h.kind == "netfilter" and h.direction == "request" and h.where.namespace == f"node {walk.node}"]
    rows = []
    for i in range(max(len(kernel), len(engine))):
        k = kernel[i] if i < len(kernel) else ""
        e = engine[i] if i < len(engine) else ""
        rows.append({"step": i + 1, "kernel (xtables-monitor --trace)": k, "engine": e, "same": k == e})
    return pd.DataFrame(rows)


def walk_table(lab, name: str, *, node: str | None = None, **options: Any) -> pd.DataFrame:
    """Scenario ``name`` played in ``lab`` under ``xtables-monitor --trace`` at ``node`` (default: the first node
    the engine's packet enters), beside the engine's walk: :func:`compare_walk`. If the kernel picked another
    endpoint or load balancer target than the engine, the engine is asked about the kernel's choice."""
    flow = scenario(name, **options)
    node = node or next(h.where.namespace[5:] for h in flow.hops if h.where.namespace.startswith("node "))
    walk = lab.chain_walk(flow, node=node)
    obs = walk.observation
    if (obs.receiver, _lb_target(obs.conntrack, lab)) != (_receiver_label(flow), _lb_target(flow.conntrack, lab)):
        pods = {p.key: p.address for p in lab.cluster.pods}
        again = dict(options)
        if obs.receiver in pods:
            again["endpoint"] = str(pods[obs.receiver])
        if _lb_target(obs.conntrack, lab):
            again["target"] = _lb_target(obs.conntrack, lab)
        flow = scenario(name, **again)
    return compare_walk(walk, flow)


def predictions(scenarios: Iterable[str] | None = None) -> pd.DataFrame:
    """The engine's side of :func:`verify` alone, for where no lab can run: one row per case (delivered, the
    source the receiver sees, reply accepted, conntrack)."""
    rows = []
    for case in CASES:
        if scenarios is not None and case.scenario not in scenarios:
            continue
        flow = scenario(case.scenario, **case.options)
        first = flow.hops[0]
        keep = _fixed_ports(scenario_setup(case.scenario, **case.options)[0], first.dst)
        seen = flow.seen_source
        rows.append({"scenario": case.scenario, "case": case.text, "predicted delivered": flow.delivered,
                     "predicted receiver": _receiver_label(flow),
                     "predicted source seen": "" if seen is None or not flow.delivered else
                     f"{seen.ip}:{_port_token(seen.port, keep, first.src.port)}",
                     "predicted reply accepted": flow.reply_accepted,
                     "predicted conntrack": "\n".join(normalise(flow.conntrack, keep, first.src.port))})
    return pd.DataFrame(rows)
