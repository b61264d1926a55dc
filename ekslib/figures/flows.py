"""Figures of a traced packet (:func:`ekslib.flows.trace`, :func:`ekslib.flows.scenario`): an animation of the
packet hop by hop, its hop table and its conntrack entries. Every function takes a :class:`~ekslib.flows.Flow`
and returns a plain ``go.Figure``; positions come only from the Flow's public fields (each hop's
``where.namespace/device/hook`` and ``kind``), never from the engine.

* :func:`flow_animation`: the places the packet crosses drawn once (pod namespaces with their ``eth0``, each node
  as a compact column of netfilter hooks between its devices, the VPC's ENI checks and route tables, the gateways,
  a load balancer with its listener and its targets' health checks (``Flow.notes``), the far end); the packet
  moves frame by frame, request then reply, with the headers it carries there (the field just rewritten in red),
  the rules that acted, and a numbered red mark at each translation of the request (DNAT, SNAT, MASQUERADE); a
  reply the client does not accept (``Flow.reply_accepted``) ends in a red cross: the connection times out;
* :func:`frame_groups`: how the animation groups the hops into frames (one per hook, route lookup, device or place);
* :func:`hops_figure`: ``Flow.hop_table()`` as a table, rewritten fields in red;
* :func:`conntrack_figure`: ``Flow.conntrack_table()`` with each entry as ``conntrack -L`` prints it.

>>> from ekslib.flows import scenario
>>> fig = flow_animation(scenario("pod-to-pod-same-node"))
>>> len(fig.frames) == len(frame_groups(scenario("pod-to-pod-same-node")))
True
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from ekslib._checks import whole
from ekslib.errors import EkslibError
from ekslib.figures.cluster import short_host
from ekslib.figures.theme import MONO, TEMPLATE, figure
from ekslib.flows.flow import Flow, Hop

__all__ = ["COLOURS", "MAX_FRAMES", "HealthCheck", "conntrack_figure", "flow_animation", "frame_groups",
           "health_checks", "hops_figure", "place_label", "translation_label"]

#: Colours of the flow figures: the request and the reply, a rewritten field, a drop, and the places' boxes.
COLOURS: dict[str, str] = {
    "request": "#1f77b4", "reply": "#2ca02c", "rewrite": "#d62728", "drop": "#d62728",
    "pod": "#eaf2fb", "node": "#f4f6f8", "hook": "#ffffff", "vpc": "#fff6e0", "gateway": "#f1ecfa", "far": "#ececec",
    "lb": "#e6f4f1", "healthy": "#2ca02c", "unhealthy": "#d62728",
    "request row": "#ffffff", "reply row": "#f1f8f1", "changed": "#ffd6d6",
}
#: The animation groups hops by hook, route lookup, device or place; past this many frames, by place only.
MAX_FRAMES = 60
#: Netfilter's hooks as the node's column draws them, top to bottom; FORWARD, INPUT and OUTPUT share a row.
_HOOK_ROWS = {"PREROUTING": 3.0, "routing": 2.0, "middle": 1.0, "POSTROUTING": 0.0}
_MIDDLE = ("FORWARD", "INPUT", "OUTPUT")
_LOCAL_Y = -0.85            # a node's local processes (host network): where it sends from and delivers to
_SLOT_Y = (1.5, 2.6, 0.4, 3.5, -0.5)  # devices on a side, route tables, ENI checks: first, second, ...
_WIDTH = {"pod": 2.2, "node": 3.6, "vpc": 3.4, "gateway": 1.9, "far": 1.9, "lb": 3.2}
_GAP = 0.8
_TOP, _BOTTOM = 4.0, -1.45  # the places' boxes
_TEXT_Y = -1.95             # the packet's headers and the acting rules, under the drawing
_RULE_LINES = 8             # rules listed under the drawing, at most
_MAX_LINES = 11             # lines they take, at most (a long rule takes two)
_REPLY_OFFSET = -0.12       # the reply's path runs this far below the request's
_MIN_WIDTH = 16.0           # x range at least this wide, so that a short flow is not stretched
_RULE_CHARS = 130           # characters per line of a rule, at most
_CHECKS_Y = 0.75            # top of a load balancer's health-check panel
_CHECK_LINES = 9            # lines the panel takes, at most
_BADGES = "①②③④⑤⑥⑦⑧⑨⑩"      # the request's translations, numbered
#: ``Flow.notes`` of a load balancer's health check, as the engine writes them:
#: ``<load balancer> health check of <address:port>: <check>[ -> <answer>]``.
_HEALTH_CHECK = re.compile(r"^(?P<lb>.+?) health check of (?P<target>\S+?): (?P<check>.+)$")


# ----------------------------------------------------------------------------------------------- grouping


def _kind_of(namespace: str) -> str:
    if namespace.startswith("pod "):
        return "pod"
    if namespace.startswith("node "):
        return "node"
    if namespace == "vpc":
        return "vpc"
    if namespace == "internet gateway" or namespace.startswith("NAT gateway"):
        return "gateway"
    return "far"


def _stage(hop: Hop) -> tuple[str, ...]:
    """Where in its place a hop is drawn: a hook row, a device, the pod's inside or eth0, an ENI check..."""
    where, kind = hop.where, _kind_of(hop.where.namespace)
    if kind == "node":
        if hop.kind in ("eni", "veth"):
            return ("device", where.device)
        if hop.kind in ("send", "deliver"):
            return ("local",)
        if hop.kind in ("policy-rule", "route"):
            return ("hook", "routing")
        if where.hook in _MIDDLE:
            return ("hook", "middle")
        if where.hook in ("PREROUTING", "POSTROUTING"):
            return ("hook", where.hook)
        return ("hook", "routing")
    if kind == "pod":
        return ("eth0",) if hop.kind == "veth" else ("inside",)
    if kind == "vpc":
        if where.device.startswith("subnet-") or where.table.startswith("route table"):
            return ("route table", where.device)
        return ("eni check", where.device)
    return ("centre",)


def frame_groups(flow: Flow, *, max_frames: int = MAX_FRAMES) -> list[tuple[Hop, ...]]:
    """The hops of ``flow`` (request, then reply) in the groups the animation shows, one group per frame.

    Consecutive hops share a frame when they happen at the same stage of the same place and direction: in a
    pod (its routing and ARP; crossing its veth), at one hook of a node (conntrack and every table and chain
    walked there, e.g. PREROUTING's mangle and nat), at its routing decision (policy rule and route), leaving by
    one device, at one ENI check or route table of the VPC, at a gateway. A drop is a frame of its own. When that
    makes more than ``max_frames`` frames, each visit of a place is one frame.

    >>> from ekslib.flows import scenario
    >>> groups = frame_groups(scenario("pod-to-pod-same-node"))
    >>> [h.kind for h in groups[0]]
    ['send', 'route', 'neighbour']
    """
    _check_flow(flow)
    whole("max_frames", max_frames, minimum=1)
    for coarse in (False, True):
        groups: list[list[Hop]] = []
        last: tuple | None = None
        for hop in flow.all_hops():
            key = (hop.direction, hop.where.namespace, () if coarse else _stage(hop), hop.kind == "drop")
            if groups and key == last:
                groups[-1].append(hop)
            else:
                groups.append([hop])
            last = key
        if len(groups) <= max_frames:
            break
    return [tuple(g) for g in groups]


def _check_flow(flow: Any) -> None:
    if not isinstance(flow, Flow):
        raise EkslibError(f"expected a Flow (from ekslib.flows.trace or scenario), not a {type(flow).__name__}")


def place_label(namespace: str) -> str:
    """A namespace as the figures label it: node names shortened (``node ip-192-168-96-4``), pods as they are.

    >>> place_label("node ip-192-168-96-4.us-west-2.compute.internal")
    'node ip-192-168-96-4'
    """
    if namespace.startswith("node "):
        return "node " + short_host(namespace[5:])
    return namespace


@dataclass(frozen=True)
class HealthCheck:
    """One target's health check, read from a ``Flow.notes`` line: the load balancer, the target, the check it
    runs, its answer (``200 (a local ready endpoint)``, ``503 (no local endpoint)``, ``open``; empty when the note
    gives none) and whether that answer is healthy (None when it does not say)."""

    load_balancer: str
    target: str
    check: str
    answer: str
    healthy: bool | None


def health_checks(flow: Flow) -> list[HealthCheck]:
    """The load balancers' health checks among ``flow.notes``, in their order (other notes are left out).

    >>> from ekslib.flows import scenario
    >>> [(c.target, c.answer[:3], c.healthy) for c in health_checks(scenario("loadbalancer"))]
    [('192.168.0.4:30512', '503', False), ('192.168.32.4:30512', '200', True), ('192.168.0.5:30512', '200', True)]
    """
    _check_flow(flow)
    out = []
    for note in flow.notes:
        match = _HEALTH_CHECK.match(note)
        if match is None:
            continue
        check, _, answer = match["check"].partition(" -> ")
        code = answer.split(" ")[0].lower()
        healthy = (True if code.startswith("2") or code in ("open", "healthy") else
                   False if code[:1] in ("4", "5") or code in ("closed", "unhealthy", "timeout") else None)
        out.append(HealthCheck(match["lb"], match["target"], check.strip(), answer.strip(), healthy))
    return out


def translation_label(group: Sequence[Hop]) -> str:
    """What a group of hops did to the packet's addresses, in a word: the acting rule's target when it names one
    (``DNAT``, ``SNAT``, ``MASQUERADE``), a proxy's new connection (a Classic Load Balancer's), else ``DNAT`` for
    a new destination, ``SNAT`` for a new source (a gateway's or a load balancer's translation), ``DNAT + SNAT``
    for both; empty when no address changed.

    >>> from ekslib.flows import scenario
    >>> flow = scenario("loadbalancer", kind="clb")
    >>> [translation_label([h]) for h in flow.hops if h.rewrite and {"src", "dst"} & set(h.changed)]
    ['DNAT', 'proxy: a new connection', 'DNAT']
    """
    changed = {c for h in group if h.rewrite for c in h.changed} & {"src", "dst"}
    if not changed:
        return ""
    if any(h.rewrite and h.action.startswith("proxy") for h in group):
        return "proxy: a new connection"
    named = [h.action for h in group if h.rewrite and h.action in ("DNAT", "SNAT", "MASQUERADE")]
    if named:
        return " + ".join(dict.fromkeys(named))
    return " + ".join(n for n, c in (("DNAT", "dst"), ("SNAT", "src")) if c in changed)


# ----------------------------------------------------------------------------------------------- layout


@dataclass
class _Column:
    namespace: str
    kind: str
    index: int
    x0: float = 0.0
    x1: float = 0.0
    sides: dict[str, list[str]] = field(default_factory=lambda: {"left": [], "right": []})
    tables: list[str] = field(default_factory=list)
    middle: list[str] = field(default_factory=list)
    chains: dict[str, list[str]] = field(default_factory=dict)
    local: bool = False
    address: str = ""
    scheme: str = ""
    listener: str = ""
    target: str = ""

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass
class _Layout:
    columns: dict[str, _Column]
    device_side: dict[tuple[str, str], str]

    def side(self, of: str, towards: str | None) -> str:
        if towards is None or towards not in self.columns:
            return "right"
        return "left" if self.columns[towards].index < self.columns[of].index else "right"

    def position(self, hop: Hop) -> tuple[float, float]:
        col = self.columns[hop.where.namespace]
        stage = _stage(hop)
        if col.kind == "node":
            if stage[0] == "device":
                return self._device(col, stage[1])
            if stage[0] == "local":
                return col.centre, _LOCAL_Y
            return col.centre, _HOOK_ROWS[stage[1]]
        if col.kind == "pod":
            if stage[0] == "eth0":
                return self.eth0(col), 1.5
            return col.centre - (0.25 if self.eth0(col) > col.centre else -0.25), 1.5
        if col.kind == "vpc":
            if stage[0] == "route table":
                return col.centre, _SLOT_Y[col.tables.index(stage[1]) % len(_SLOT_Y)]
            return self._device(col, stage[1])
        return col.centre, 1.5

    def entry(self, hop: Hop) -> tuple[float, float] | None:
        """The device a packet arrives on when ``hop`` is its first in a node (None elsewhere)."""
        col = self.columns[hop.where.namespace]
        if col.kind != "node" or not hop.where.device or (col.namespace, hop.where.device) not in self.device_side:
            return None
        return self._device(col, hop.where.device)

    def _device(self, col: _Column, device: str) -> tuple[float, float]:
        side = self.device_side.get((col.namespace, device), "right")
        slot = col.sides[side].index(device) if device in col.sides[side] else 0
        inset = 0.35 if col.kind == "node" else 0.45
        return (col.x0 + inset if side == "left" else col.x1 - inset), _SLOT_Y[slot % len(_SLOT_Y)]

    def eth0(self, col: _Column) -> float:
        return col.x1 - 0.15 if col.sides["right"] else col.x0 + 0.15


def _layout(flow: Flow) -> _Layout:
    hops = flow.all_hops()
    columns: dict[str, _Column] = {}
    for hop in hops:
        ns = hop.where.namespace
        if ns not in columns:
            columns[ns] = _Column(ns, _kind_of(ns), len(columns))
        if hop.kind == "load-balancer" and columns[ns].kind == "far":
            columns[ns].kind = "lb"
    for i, hop in enumerate(flow.hops):  # a load balancer: its scheme, listener, address and the target it chose
        col = columns[hop.where.namespace]
        if hop.kind == "load-balancer" and col.kind == "lb" and not col.listener:
            col.scheme = hop.where.chain or hop.where.device
            col.listener = hop.rule.split(";")[0].strip()
            col.address = str(flow.hops[i - 1].dst) if i > 0 else ""
            col.target = str(hop.dst)
    layout = _Layout(columns, {})
    # devices and ENI checks go on the side of the place the packet comes from or goes to
    for direction_hops in (flow.hops, flow.reply.hops if flow.reply is not None else ()):
        for i, hop in enumerate(direction_hops):
            col = columns[hop.where.namespace]
            prev = direction_hops[i - 1].where.namespace if i > 0 else None
            nxt = direction_hops[i + 1].where.namespace if i + 1 < len(direction_hops) else None
            prev = prev if prev != col.namespace else None
            nxt = nxt if nxt != col.namespace else None
            stage = _stage(hop)
            if col.kind == "node":
                if stage[0] == "device":
                    towards = nxt or ("vpc" if hop.kind == "eni" else prev)
                    _place_device(layout, col, hop.where.device, towards)
                elif prev is not None and hop.where.device:
                    _place_device(layout, col, hop.where.device, prev)
                if stage[0] == "local":
                    col.local = True
                elif stage[0] == "hook":
                    if stage[1] == "middle" and hop.where.hook not in col.middle:
                        col.middle.append(hop.where.hook)
                    label = stage[1] if stage[1] != "middle" else hop.where.hook
                    chain = " ".join(p for p in (hop.where.table, hop.where.chain) if p)
                    if chain and chain not in col.chains.setdefault(label, []):
                        col.chains[label].append(chain)
            elif col.kind == "pod":
                if prev is not None and columns[prev].kind == "node":
                    col.sides[layout.side(col.namespace, prev)] = ["eth0"]
                if nxt is not None and columns[nxt].kind == "node":
                    col.sides[layout.side(col.namespace, nxt)] = ["eth0"]
                if hop.kind == "send" and not col.address:
                    col.address = str(hop.src.ip)
                if hop.kind == "deliver" and not col.address:
                    col.address = str(hop.dst.ip)
            elif col.kind == "vpc":
                if stage[0] == "route table":
                    if stage[1] not in col.tables:
                        col.tables.append(stage[1])
                else:
                    _place_device(layout, col, stage[1], prev or nxt)
    x = 0.0
    for col in columns.values():
        col.x0, col.x1 = x, x + _WIDTH[col.kind]
        x = col.x1 + _GAP
    return layout


def _place_device(layout: _Layout, col: _Column, device: str, towards: str | None) -> None:
    if (col.namespace, device) in layout.device_side:
        return
    side = layout.side(col.namespace, towards)
    layout.device_side[(col.namespace, device)] = side
    col.sides[side].append(device)


# ----------------------------------------------------------------------------------------------- text


def _esc(text: str) -> str:
    """``text`` safe inside plotly's HTML-like labels (which decode ``&amp; &lt; &gt;`` but not ``&quot;``)."""
    return html.escape(text, quote=False)


def _red(text: str) -> str:
    return f'<span style="color:{COLOURS["rewrite"]}"><b>{text}</b></span>'


def _rule_text(hop: Hop) -> str:
    """What acted at ``hop``, as one string: its iptables text, route, policy rule, check..."""
    rule = hop.rule.replace("\t", " ")
    action = hop.action
    if hop.kind == "netfilter":
        # "jump KUBE-FORWARD", "RETURN", "SNAT": the rule already says it
        text = f"[{hop.where.table}] {rule}" + ("" if action.split(" ")[-1] in rule else f" → {action}")
    elif hop.kind == "conntrack":
        text = f"conntrack: {action}"
    elif hop.kind == "policy-rule":
        text = f"ip rule {rule} → {action}"
    elif hop.kind == "route":
        text = f"ip route: {rule} → {action}"
    elif hop.kind == "neighbour":
        text = f"ip neigh: {rule}"
    elif hop.kind == "src-dst-check":
        text = f"{rule}: {action}"
    elif hop.kind == "vpc-route":
        text = f"route table: {rule}"
    elif hop.kind == "load-balancer":
        text = f"{rule} → {action}" if rule else action
    elif hop.kind == "drop":
        text = f"DROP: {rule or action}"
    else:
        text = action
    return text


def _wrap(text: str, width: int = _RULE_CHARS, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` characters, cut at spaces, the rest dropped with '…'."""
    out: list[str] = []
    while text and len(out) < lines:
        if len(text) <= width:
            out.append(text)
            text = ""
            break
        cut = text.rfind(" ", width // 2, width)
        cut = cut if cut > 0 else width
        out.append(text[:cut])
        text = "    " + text[cut:].lstrip()
    if text:
        out[-1] = out[-1][:width - 1] + "…"
    return out


def _rule_lines(group: Sequence[Hop]) -> list[str]:
    """The rules box: one entry per hop (two lines for a long rule), at most :data:`_RULE_LINES` entries --
    every hop that rewrote or dropped, then the others in order. Rewrites and drops in red."""
    keep = list(range(len(group)))
    if len(group) > _RULE_LINES:
        must = sorted(i for i, h in enumerate(group) if h.rewrite or h.kind == "drop")[:_RULE_LINES - 1]
        chosen = set(must)
        for i in range(len(group)):
            if len(chosen) >= _RULE_LINES - 1:
                break
            chosen.add(i)
        keep = sorted(chosen)
    lines: list[str] = []
    for i in keep:
        hop = group[i]
        wrapped = _wrap(_rule_text(hop))
        if hop.rewrite:  # on the last line when it fits, else on a line of its own
            rewrite = f"  ⇒ {hop.rewrite}"
            if len(wrapped[-1]) + len(rewrite) <= _RULE_CHARS:
                wrapped[-1] += rewrite
            else:
                wrapped.append("   " + rewrite)
        wrapped = [_esc(line) for line in wrapped]
        lines += [_red(line) for line in wrapped] if hop.rewrite or hop.kind == "drop" else wrapped
    if len(lines) > _MAX_LINES - 1 or len(keep) < len(group):
        lines = lines[:_MAX_LINES - 1] + ["… more in the hop table"]
    return lines


def _headers(group: Sequence[Hop], previous: Hop | None) -> tuple[str, set[str]]:
    """The packet's headers after ``group``, the changed fields in red with their value before."""
    last = group[-1]
    changed = {c for h in group for c in h.changed}
    values = {"src": str(last.src), "dst": str(last.dst), "mark": f"{last.mark:#x}"}
    before = ({"src": str(previous.src), "dst": str(previous.dst), "mark": f"{previous.mark:#x}"}
              if previous is not None else values)
    changed |= {k for k in values if values[k] != before[k]}
    parts = []
    for name in ("src", "dst", "mark"):
        if name in changed:
            was = f" (was {before[name]})" if before[name] != values[name] else ""
            parts.append(f"{name} {_red(values[name] + was)}")
        else:
            parts.append(f"{name} {values[name]}")
    return "    ".join(parts), changed


# ----------------------------------------------------------------------------------------------- animation


def flow_animation(flow: Flow, *, max_frames: int = MAX_FRAMES, height: int = 720) -> go.Figure:
    """The packet of ``flow`` moving hop by hop, request then reply, with ▶/❚❚ buttons and a slider.

    Drawn once: every place the packet crosses, left to right in the order it first meets them: a pod's
    namespace (``eth0`` on the side of its node), a node as a column of hooks (PREROUTING, the routing
    decision, FORWARD / INPUT / OUTPUT, POSTROUTING) between the devices it arrives on and leaves by (host
    veths on the pods' side, ENIs on the VPC's), the VPC (EC2's source/destination check at each ENI, the
    subnets' route tables), the NAT gateway, the internet gateway, a load balancer (a place of its own, from its
    ``load-balancer`` hops: its scheme, listener and address, and a panel of its targets' health checks from
    ``Flow.notes``, each answer in green or red, the target it chose marked ▸) and the far end. Each frame
    (:func:`frame_groups`) moves only the packet, its trail, the request's translations so far (a numbered red
    mark where each happened: ① DNAT, ② DNAT, ③ MASQUERADE...) and the text under the drawing: the headers
    (src, dst, mark) with the field just rewritten in red, and each rule that acted there, as ``iptables-save``
    or ``ip`` prints it. A drop ends the animation with a red cross and the reason; so does a reply that arrives
    but not from the address the client connected to (``Flow.reply_accepted`` false: the load balancer hairpin):
    the client drops it and the connection times out.

    >>> from ekslib.flows import scenario
    >>> fig = flow_animation(scenario("pod-to-internet", subnet="public"))
    >>> len(fig.frames), fig.frames[0].traces
    (20, (1, 2, 3, 4, 5))
    >>> fig = flow_animation(scenario("loadbalancer"))
    >>> list(fig.frames[-1].data[4].text)   # the internet gateway's, the NLB's and the node's
    ['① DNAT', '② DNAT', '③ DNAT']
    """
    _check_flow(flow)
    whole("height", height, minimum=300)
    groups = frame_groups(flow, max_frames=max_frames)
    layout = _layout(flow)
    places, layout_json = _scene(flow, layout, height)
    frames = []
    trails: dict[str, tuple[list[float | None], list[float | None]]] = {"request": ([], []), "reply": ([], [])}
    previous: dict[str, Hop | None] = {"request": None, "reply": None}
    x_text = min(c.x0 for c in layout.columns.values())
    total = len(groups)
    badges: tuple[list[float], list[float], list[str]] = ([], [], [])
    refused = flow.reply is not None and flow.reply.delivered and not flow.reply_accepted
    for number, group in enumerate(groups, start=1):
        first, last = group[0], group[-1]
        direction = first.direction if first.direction in trails else "request"
        xs, ys = trails[direction]
        before = previous[direction]
        entry = layout.entry(first) if before is None or before.where.namespace != first.where.namespace else None
        x, y = layout.position(last)
        if direction == "reply":  # a little below the request's path, so that both stay visible
            x, y = x, y + _REPLY_OFFSET
            entry = None if entry is None else (entry[0], entry[1] + _REPLY_OFFSET)
        if entry is not None and (not xs or (xs[-1], ys[-1]) != entry):
            xs.append(entry[0])
            ys.append(entry[1])
        xs.append(x)
        ys.append(y)
        headers, changed = _headers(group, previous[direction])
        previous[direction] = last
        timed_out = refused and number == total and direction == "reply" and last.kind == "deliver"
        dropped = last.kind == "drop" or timed_out
        steps = f"hop {first.step}" if first is last else f"hops {first.step}–{last.step}"
        stage = _stage(last)
        where = place_label(last.where.namespace) + _stage_label(stage, last)
        label = translation_label(group) if direction == "request" else ""
        if label:  # a numbered mark beside the spot (beside the hook's box in a node)
            number_mark = _BADGES[len(badges[2])] if len(badges[2]) < len(_BADGES) else f"({len(badges[2]) + 1})"
            badges[0].append(round(x + (0.8 if stage[0] == "hook" else 0.1), 3))
            above = layout.columns[last.where.namespace].kind == "lb"  # under its name elsewhere
            badges[1].append(round(y + (0 if stage[0] == "hook" else 0.28 if above else -0.28), 3))
            badges[2].append(f"{number_mark} {label}")
        title = (f"<b>{direction}</b> · frame {number} of {total} · {steps} · {_esc(where)}"
                 + (f" · {_red('DROPPED')}" if last.kind == "drop" else "")
                 + (f" · {_red('NOT ACCEPTED')}" if timed_out else ""))
        rules = _rule_lines(group)
        if last.kind == "drop":
            reason = flow.drop_reason if direction == "request" else (flow.reply.drop_reason if flow.reply else "")
            rules += [_red(_esc(line)) for line in _wrap(reason)]
        if timed_out:
            rules += [_red("the client drops it: the connection times out")] + [_esc(line) for line in _wrap(
                f"it connected to {flow.hops[0].dst}, but this answer comes from {flow.reply.seen_source}: no "
                "connection of the client's matches it, so its connection attempt is never answered")]
        colour = COLOURS["drop"] if dropped else COLOURS[direction]
        frames.append({"name": str(number), "traces": list(_MOVING), "data": [
            _points(*trails["request"]), _points(*trails["reply"]),
            {"x": [x], "y": [y],
             "marker": {"size": 20 if dropped else 16, "symbol": "x" if dropped else "circle", "color": colour,
                        "line": {"width": 3 if changed else 1,
                                 "color": COLOURS["rewrite"] if changed else "#ffffff"}}},
            {"text": [f"{title}<br>{headers}<br><span style=\"font-family:{MONO}\">"
                      + "<br>".join(rules) + "</span>"]},
            _points(*badges[:2], text=badges[2]),
        ]})
    play = {"frame": {"duration": 900, "redraw": False}, "fromcurrent": True, "transition": {"duration": 250}}
    stop = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    data = [places] + _moving_traces(x_text)
    for trace, first in zip(data[1:], frames[0]["data"] if frames else (), strict=True):
        trace.update(first)  # the first frame, drawn before ▶ is pressed
    layout_json.update(
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0, "xanchor": "left", "y": 0, "yanchor": "top",
                      "pad": {"t": 8, "r": 10}, "showactive": False,
                      "buttons": [{"label": "▶ play", "method": "animate", "args": [None, play]},
                                  {"label": "❚❚ pause", "method": "animate", "args": [[None], stop]}]}],
        sliders=[{"active": 0, "x": 0.17, "len": 0.83, "y": 0, "yanchor": "top", "pad": {"t": 0},
                  "currentvalue": {"prefix": "frame ", "font": {"size": 11}}, "font": {"size": 9},
                  "steps": [{"label": f["name"], "method": "animate",
                             "args": [[f["name"]], {"mode": "immediate", "frame": {"duration": 0, "redraw": False},
                                                    "transition": {"duration": 0}}]} for f in frames]}],
    )
    return figure(data, layout_json, frames)


def _stage_label(stage: tuple[str, ...], hop: Hop) -> str:
    if stage[0] == "hook":
        return " " + (hop.where.hook if stage[1] == "middle" else stage[1])
    if stage[0] in ("device", "eni check"):
        return " " + stage[1]
    if stage[0] == "route table":
        return f" route table of {stage[1]}"
    if stage[0] == "eth0":
        return " eth0 (veth)"
    if stage[0] == "local":
        return " (host network)"
    return ""


#: The traces a frame moves (by index): the request's trail, the reply's, the packet, the text under the drawing
#: and the translation marks; a frame carries only what changes in them (plotly.js merges a frame into its
#: traces, ``Plotly.animate``), their style is set once in :func:`_moving_traces`.
_MOVING = (1, 2, 3, 4, 5)


def _points(xs: list, ys: list, text: list | None = None) -> dict:
    """What a frame changes in a trail or in the marks: the points (a lone ``None`` while there are none)."""
    out: dict[str, list] = {"x": list(xs) or [None], "y": list(ys) or [None]}
    if text is not None:
        out["text"] = list(text) or [""]
    return out


def _moving_traces(x_text: float) -> list[dict]:
    """The five traces the frames move, styled once: the two trails, the packet, the text, the marks."""
    def trail(direction: str) -> dict:
        return {"type": "scatter", "mode": "lines", "hoverinfo": "skip", "name": direction, "showlegend": False,
                "line": {"color": COLOURS[direction], "width": 3 if direction == "request" else 2.5,
                         "dash": "solid" if direction == "request" else "dot"}}

    return [trail("request"), trail("reply"),
            {"type": "scatter", "mode": "markers", "hoverinfo": "skip", "showlegend": False},
            {"type": "scatter", "x": [x_text], "y": [_TEXT_Y], "mode": "text", "hoverinfo": "skip",
             "showlegend": False, "textposition": "bottom right"},
            {"type": "scatter", "mode": "markers+text", "textposition": "middle right", "hoverinfo": "skip",
             "showlegend": False, "cliponaxis": False, "textfont": {"color": COLOURS["rewrite"], "size": 10},
             "marker": {"size": 6, "color": COLOURS["rewrite"]}}]


def _scene(flow: Flow, layout: _Layout, height: int) -> tuple[dict, dict]:
    """The static drawing: boxes, titles, hook rows, devices and their labels; the one trace of its markers and
    the layout."""
    shapes: list[dict] = []
    notes: list[dict] = []
    px: list[float] = []
    py: list[float] = []
    phover: list[str] = []
    symbols: list[str] = []
    opacity: list[float] = []

    def point(x: float, y: float, hover: str, symbol: str = "square", seen: bool = True) -> None:
        px.append(round(x, 3))
        py.append(round(y, 3))
        phover.append(hover)
        symbols.append(symbol)
        opacity.append(0.6 if seen else 0.0)

    def box(x0: float, x1: float, y0: float, y1: float, fill: str, dash: str = "solid") -> None:
        shapes.append({"type": "rect", "x0": round(x0, 3), "x1": round(x1, 3), "y0": y0, "y1": y1, "layer": "below",
                       "line": {"color": "#8a8a8a", "width": 1, "dash": dash}, "fillcolor": fill})

    def title(col: _Column, text: str) -> None:
        notes.append({"x": col.centre, "y": _TOP + 0.05, "yanchor": "bottom", "showarrow": False, "text": text,
                      "font": {"size": 11}})

    for col in layout.columns.values():
        label = _esc(place_label(col.namespace))
        if col.kind == "pod":
            box(col.x0, col.x1, 0.55, 2.45, COLOURS["pod"])
            name = col.namespace[4:]
            short = name if len(name) <= 26 else name[:25] + "…"
            notes.append({"x": col.centre, "y": 2.4, "yanchor": "top", "showarrow": False, "font": {"size": 10},
                          "text": f"<b>pod</b><br>{_esc(short)}<br>{col.address}"})
            point(layout.eth0(col), 1.5, f"eth0 of pod {_esc(name)} {col.address}: one end of its veth pair", "circle")
            notes.append({"x": layout.eth0(col), "y": 1.25, "yanchor": "top", "showarrow": False, "text": "eth0",
                          "font": {"size": 9}})
        elif col.kind == "node":
            box(col.x0, col.x1, _BOTTOM, _TOP, COLOURS["node"])
            title(col, f"<b>{label}</b> (host network namespace)")
            rows = {"PREROUTING": "PREROUTING", "routing": "routing decision",
                    "middle": " / ".join(col.middle) or "FORWARD", "POSTROUTING": "POSTROUTING"}
            for key, y in _HOOK_ROWS.items():
                box(col.centre - 0.75, col.centre + 0.75, y - 0.3, y + 0.3, COLOURS["hook"])
                notes.append({"x": col.centre, "y": y, "showarrow": False, "text": rows[key], "font": {"size": 10}})
                walked = [c for k in ([key] if key != "middle" else col.middle) for c in col.chains.get(k, [])]
                point(col.centre, y, f"<b>{rows[key]}</b><br>" + ("<br>".join(walked) if walked else
                                                                  "(no rule walked in this flow)"), seen=False)
            if col.local:
                point(col.centre, _LOCAL_Y, "the node's own processes and host-network pods", "circle")
                notes.append({"x": col.centre - 0.2, "y": _LOCAL_Y, "xanchor": "right", "showarrow": False,
                              "font": {"size": 10}, "text": "local process<br>(host network)"})
            for side in ("left", "right"):
                for device in col.sides[side]:
                    x, y = layout._device(col, device)
                    point(x, y, f"{_esc(device)} on {label}")
                    notes.append({"x": x, "y": y - 0.2, "yanchor": "top", "showarrow": False,
                                  "text": _esc(device), "font": {"size": 9}})
        elif col.kind == "vpc":
            box(col.x0, col.x1, _BOTTOM, _TOP, COLOURS["vpc"], "dot")
            title(col, "<b>VPC</b> (EC2's fabric: no encapsulation)")
            for subnet in col.tables:
                y = _SLOT_Y[col.tables.index(subnet) % len(_SLOT_Y)]
                point(col.centre, y, f"route table of {_esc(subnet)}", "diamond")
                notes.append({"x": col.centre, "y": y - 0.2, "yanchor": "top", "showarrow": False,
                              "text": f"route table of<br>{_esc(_short_id(subnet))}", "font": {"size": 9}})
            for side in ("left", "right"):
                for eni in col.sides[side]:
                    x, y = layout._device(col, eni)
                    point(x, y, f"EC2's source/destination check at {_esc(eni)}", "triangle-up")
                    notes.append({"x": x, "y": y - 0.2, "yanchor": "top", "showarrow": False,
                                  "text": f"src/dst check<br>{_esc(_short_id(eni))}", "font": {"size": 8}})
        elif col.kind == "lb":
            box(col.x0, col.x1, _BOTTOM, _TOP, COLOURS["lb"])
            name, _, detail = col.namespace.partition(" (")
            first, _, rest = name.partition(" ")
            head = [f"<b>{_esc(first)}</b> {_esc(rest)}"] + ([_esc("(" + detail)] if detail else [])
            head += [f"<i>{_esc(col.scheme)}</i>"] if col.scheme else []
            notes.append({"x": col.centre, "y": _TOP - 0.1, "yanchor": "top", "showarrow": False,
                          "font": {"size": 10}, "text": "<br>".join(head)})
            checks = [c for c in health_checks(flow) if c.load_balancer == col.namespace]
            listener = " · ".join(p for p in (col.listener, col.address) if p)
            point(col.centre, 1.5, f"<b>{label}</b><br>{_esc(listener)}" + "".join(
                f"<br>{_esc(c.target)}: {_esc(c.check)} → {_esc(c.answer or '?')}" for c in checks), "circle")
            if listener:
                notes.append({"x": col.centre, "y": 1.3, "yanchor": "top", "showarrow": False, "font": {"size": 9},
                              "text": "<br>".join(_esc(p) for p in (col.listener, col.address) if p)})
            if checks:
                notes.append(_check_panel(checks, col.target, col.centre, _CHECKS_Y))
        else:
            fill = COLOURS[col.kind]
            box(col.x0, col.x1, 0.9, 2.1, fill)
            notes.append({"x": col.centre, "y": 2.05, "yanchor": "top", "showarrow": False, "font": {"size": 10},
                          "text": "<br>".join(_esc(p) for p in _split(col.namespace))})
            point(col.centre, 1.5, label, "circle")
    drawn = {c.namespace for c in layout.columns.values() if c.kind == "lb"}
    loose = [c for c in health_checks(flow) if c.load_balancer not in drawn]
    if loose:  # checks of a load balancer the packet never met: top right, over the drawing
        panel = _check_panel(loose, "", 1.0, 1.0)
        panel.update(xref="paper", yref="paper", xanchor="right", yanchor="top")
        notes.append(panel)
    x_max = max(c.x1 for c in layout.columns.values())
    static = {"type": "scatter", "x": px, "y": py, "mode": "markers", "hovertext": phover, "hoverinfo": "text",
              "showlegend": False, "name": "places",
              "marker": {"size": 11, "symbol": symbols, "color": "#555555", "opacity": opacity}}
    verdict = "delivered" if flow.delivered else "dropped"
    reply = "" if flow.reply is None else (" · reply " + ("dropped" if not flow.reply.delivered else "delivered"
                                                          if flow.reply_accepted else
                                                          "not accepted: the connection times out"))
    seen = f" · the receiver sees src {flow.seen_source}" if flow.seen_source is not None else ""
    numbered = any(h.rewrite and {"src", "dst"} & set(h.changed) for h in flow.hops)
    return static, dict(
        title={"text": f"{flow.protocol.upper()} {_esc(place_label(flow.source))} → "
                       f"{_esc(place_label(flow.destination))}: {verdict}{reply}",
               "subtitle": {"text": f"request (solid, blue) then reply (dotted, green), hop by hop{seen}; "
                                    "press ▶ or drag the slider; a red field was just rewritten"
                                    + ("; ① ② … mark the request's translations" if numbered else "")}},
        template=TEMPLATE, height=height, margin={"l": 10, "r": 10, "t": 80, "b": 70}, plot_bgcolor="#ffffff",
        hovermode="closest", shapes=shapes, annotations=notes,
        xaxis={"range": [-0.3, max(x_max + 0.3, _MIN_WIDTH)], "autorange": False, "visible": False, "fixedrange": True},
        yaxis={"range": [-6.6, _TOP + 0.75], "autorange": False, "visible": False, "fixedrange": True},
    )


def _check_panel(checks: Sequence[HealthCheck], chosen: str, x: float, y: float) -> dict:
    """A box listing each target's health check and its answer (green when healthy, red when not); the check
    itself once when every target runs the same; the target the load balancer chose marked ▸."""
    same = len({c.check for c in checks}) == 1
    lines = ["<b>health checks</b>"] + ([_esc(checks[0].check)] if same else [])
    per_target = 2 if len(lines) + 2 * len(checks) <= _CHECK_LINES else 1
    room = _CHECK_LINES - len(lines)
    shown = checks if len(checks) * per_target <= room else checks[:room - 1]
    for c in shown:
        colour = {True: COLOURS["healthy"], False: COLOURS["unhealthy"]}.get(c.healthy, "#444444")
        code, _, why = c.answer.partition(" ")
        answer = (f'<span style="color:{colour}"><b>{_esc(code)}</b></span>' + (f" {_esc(why)}" if why else "")
                  if c.answer else "")
        probe = "" if same else _esc(c.check) + " "
        mark = "▸ " if c.target == chosen else ""
        if per_target == 2 and (answer or probe):
            lines += [f"{mark}{_esc(c.target)}", f"   {probe}" + (f"→ {answer}" if answer else "")]
        else:
            lines.append(f"{mark}{_esc(c.target)} {probe}" + (f"→ {answer}" if answer else ""))
    if len(shown) < len(checks):
        lines.append(f"… {len(checks) - len(shown)} more")
    return {"x": x, "y": y, "yanchor": "top", "showarrow": False, "align": "left", "font": {"size": 9},
            "bgcolor": "#ffffff", "bordercolor": "#8a8a8a", "borderwidth": 1, "borderpad": 3,
            "text": "<br>".join(lines)}


def _short_id(name: str, keep: int = 8) -> str:
    """``subnet-7656412a…`` for a long AWS id: its kind and the first ``keep`` characters of its number."""
    kind, _, number = name.partition("-")
    return name if len(number) <= keep + 1 else f"{kind}-{number[:keep]}…"


def _split(name: str) -> list[str]:
    """A gateway's or far end's name on two lines: ``NAT gateway`` / ``nat-0a1b2c3d``."""
    if name.startswith("NAT gateway "):
        return ["NAT gateway", name[len("NAT gateway "):]]
    return [name]


# ----------------------------------------------------------------------------------------------- tables


_HOP_COLUMNS = ("step", "direction", "where", "kind", "src", "dst", "mark", "rule", "action", "rewrite")
_HOP_WIDTHS = (0.035, 0.06, 0.17, 0.075, 0.125, 0.125, 0.04, 0.2, 0.09, 0.11)


def hops_figure(flow: Flow, *, max_height: int = 720) -> go.Figure:
    """``flow.hop_table()`` as a table, request rows white and reply rows green; a field a hop rewrote (src, dst,
    mark) has a red cell, its rewrite in red; a drop is red. The table scrolls past ``max_height`` pixels.

    >>> from ekslib.flows import scenario
    >>> fig = hops_figure(scenario("pod-to-internet"))
    >>> fig.data[0].header.values[:3]
    ('<b>step</b>', '<b>direction</b>', '<b>where</b>')
    """
    _check_flow(flow)
    whole("max_height", max_height, minimum=200)
    hops = flow.all_hops()
    table = flow.hop_table()
    values = []
    for column in _HOP_COLUMNS:
        if column == "where":
            cells = [" ".join(p for p in (place_label(h.where.namespace), h.where.device, h.where.hook,
                                          h.where.table, h.where.chain) if p) for h in hops]
        else:
            cells = [str(v).replace("\t", " ") for v in table[column]]
        values.append([_esc(c) for c in cells])
    fills, fonts = [], []
    for column in _HOP_COLUMNS:
        fill, font = [], []
        for hop in hops:
            base = COLOURS["reply row"] if hop.direction == "reply" else COLOURS["request row"]
            hit = (column in hop.changed) or (column == "kind" and hop.kind == "drop") or \
                  (column == "rewrite" and bool(hop.rewrite))
            fill.append(COLOURS["changed"] if hit else base)
            font.append(COLOURS["rewrite"] if (column == "rewrite" or hop.kind == "drop") and hit else "#222222")
        fills.append(fill)
        fonts.append(font)
    rewrites = sum(1 for h in hops if h.rewrite)
    table_trace = dict(
        type="table", columnwidth=list(_HOP_WIDTHS),
        header={"values": [f"<b>{c}</b>" for c in _HOP_COLUMNS], "align": "left", "fill": {"color": "#e8ecf1"},
                "font": {"size": 11}},
        cells={"values": values, "align": "left", "fill": {"color": fills}, "height": 20,
               "font": {"family": MONO, "size": 10, "color": fonts}})
    return figure([table_trace], dict(
        title={"text": f"Hop by hop: {_esc(place_label(flow.source))} → "
                       f"{_esc(place_label(flow.destination))}",
               "subtitle": {"text": f"{len(flow.hops)} request hops, "
                                    f"{len(flow.reply.hops) if flow.reply is not None else 0} reply hops (green); "
                                    f"{rewrites} rewrites, in red"}},
        template=TEMPLATE, height=min(max_height, 24 * len(hops) + 140), margin={"l": 10, "r": 10, "t": 80, "b": 10}))


def conntrack_figure(flow: Flow) -> go.Figure:
    """``flow.conntrack_table()``: one row per connection-tracking entry (a node's, or a NAT gateway's), its
    original and reply tuples, mark and what it translates (the reply tuple in red when it does), and the line
    ``conntrack -L`` prints for it.

    >>> from ekslib.flows import scenario
    >>> fig = conntrack_figure(scenario("pod-to-internet"))
    >>> list(fig.data[0].cells.values[5])
    ['snat', 'snat']
    """
    _check_flow(flow)
    table = flow.conntrack_table()
    columns = ["zone", "protocol", "original", "reply", "mark", "translates"]
    values = [[_esc(place_label(str(v))) for v in table[c]] if c == "zone" else
              [_esc(str(v)) for v in table[c]] for c in columns]
    values.append([_esc(e.text()) for e in flow.conntrack])
    translated = [t != "-" for t in table["translates"]]
    fills = [[COLOURS["changed"] if (hit and c in ("reply", "translates")) else "#ffffff" for hit in translated]
             for c in columns] + [["#ffffff"] * len(translated)]
    table_trace = dict(
        type="table", columnwidth=[0.13, 0.05, 0.15, 0.15, 0.04, 0.06, 0.42],
        header={"values": [f"<b>{c}</b>" for c in columns] + ["<b>conntrack -L</b>"], "align": "left",
                "fill": {"color": "#e8ecf1"}, "font": {"size": 11}},
        cells={"values": values, "align": "left", "fill": {"color": fills}, "height": 34,
               "font": {"family": MONO, "size": 10}})
    zones = len(table)
    return figure([table_trace], dict(
        title={"text": "Connection tracking: the entries this flow made",
               "subtitle": {"text": (f"{zones} entr{'y' if zones == 1 else 'ies'}; the reply tuple is what the kernel "
                                     "(or the NAT gateway) expects back, so a translation shows as a reply tuple "
                                     "that is not the original reversed") if zones else
                            "no entry: the packet met no connection tracking"}},
        template=TEMPLATE, height=46 * max(zones, 1) + 150, margin={"l": 10, "r": 10, "t": 80, "b": 10}))
