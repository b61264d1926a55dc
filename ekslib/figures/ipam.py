"""Figures for ipamd's warm pool and the subnets it draws from: every function returns a plain ``go.Figure``.

The numbers come from the model layer (:mod:`ekslib.ipam`, :mod:`ekslib.ipam`, :mod:`ekslib.ipam`);
this module only arranges them and never displays anything.

* :func:`timeline_figure`: a :func:`ekslib.ipam.simulate` timeline (pods, addresses, ENIs, EC2 calls);
* :func:`pool_animation_figure`: ENIs and addresses filling as pods arrive one by one (play button, slider);
* :func:`pool_figure`: one steady state (:func:`ekslib.ipam.steady_state`) as the same grid of ENI slots;
* :func:`settings_figure`: unused addresses and EC2 calls against pods, one line per pool setting;
* :func:`subnet_plan_figure`: what a cluster holds per subnet (:func:`ekslib.ipam.plan_subnets`);
* :func:`fragmentation_figure`: a subnet's /28 blocks: which could still be a delegated prefix;
* :func:`fleet_figure` and :func:`fleet_waste_figure`: :func:`ekslib.ipam.simulate_cluster` runs.

>>> from ekslib.ipam import steady_state
>>> fig = pool_figure(steady_state("t3.medium", 1))
>>> fig.layout.title.text
't3.medium with 1 pod: 2 ENIs, 10 pod addresses attached, 9 unused'

Sources of the rules drawn here: github.com/aws/amazon-vpc-cni-k8s ``pkg/ipamd/ipamd.go`` and
``docs/eni-and-ip-target.md`` (one address per ENI is its primary and never a pod's; the 5 s pool loop),
``docs/prefix-and-ip-target.md`` (16 addresses per /28 prefix); Amazon VPC User Guide "Subnet CIDR blocks"
(5 reserved addresses per subnet); EC2 User Guide "Assign prefixes to network interfaces" (aligned /28s,
``InsufficientCidrBlocks``).
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ekslib._checks import parse_subnet, whole
from ekslib.errors import EkslibError
from ekslib.facts import IPS_PER_PREFIX, POOL_LOOP_S, PREFIX_LENGTH
from ekslib.figures.theme import TEMPLATE, figure
from ekslib.ipam.planner import SubnetPlan
from ekslib.ipam.schedules import ramp
from ekslib.ipam.settings import PoolSettings, pool_settings
from ekslib.ipam.simulation import NodeSimulation
from ekslib.ipam.steady import PoolState, steady_states
from ekslib.ipam.subnet_space import SubnetSpace

__all__ = [
    "COLOURS", "settings_label", "timeline_figure", "pool_animation_figure", "pool_figure", "settings_figure",
    "subnet_plan_figure", "fragmentation_figure", "fleet_figure", "fleet_waste_figure",
]

#: One colour per kind of address, the same in every figure of this module.
COLOURS: dict[str, str] = {
    "pod": "#1f77b4",          # assigned to a pod
    "warm": "#9ecae1",         # attached to the node, no pod yet (the warm pool)
    "attaching": "#fdd0a2",    # on an ENI still attaching (not usable yet)
    "cooldown": "#ff7f0e",     # released by a pod less than 30 s ago
    "pending": "#d62728",      # pods waiting for an address
    "primary": "#636363",      # an ENI's primary address (the node's own on eni-0)
    "eni primary": "#969696",  # the primary address of another ENI
    "free": "#e5f5e0",         # free in the subnet
    "reserved": "#252525",     # reserved by AWS in every subnet
    "calls": "#9467bd",        # EC2 API calls
    "empty": "#d9d9d9",        # a slot the ENI could hold but does not
}
#: The default pool settings compared by :func:`settings_figure` (labels as the aws-node variables read).
DEFAULT_COMPARISON: dict[str, dict[str, Any]] = {
    "WARM_ENI_TARGET=1 (default)": {},
    "WARM_IP_TARGET=1": {"warm_ip_target": 1},
    "WARM_IP_TARGET=2, MINIMUM_IP_TARGET=10": {"warm_ip_target": 2, "minimum_ip_target": 10},
    "prefix mode, WARM_PREFIX_TARGET=1": {"prefix_delegation": True},
}
_LINE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
_SOURCE_IPAMD = "model of aws/amazon-vpc-cni-k8s pkg/ipamd (ekslib.ipam)"
_TIMELINE_COLUMNS = ("time_s", "pods_running", "pods_pending", "enis", "ips_attached", "assigned", "available",
                     "cooldown", "ec2_calls")


# ----------------------------------------------------------------------------------------------- helpers


def settings_label(settings: PoolSettings | None = None, **overrides: Any) -> str:
    """The pool settings as the ``aws-node`` variables that differ from the defaults read.

    >>> settings_label()
    'WARM_ENI_TARGET=1'
    >>> settings_label(warm_ip_target=2, minimum_ip_target=5)
    'WARM_IP_TARGET=2, MINIMUM_IP_TARGET=5'
    >>> settings_label(prefix_delegation=True, max_eni=2)
    'prefix mode, WARM_PREFIX_TARGET=1, MAX_ENI=2'
    """
    s = pool_settings(settings, **overrides)
    parts = ["prefix mode"] if s.prefix_delegation else []
    if s.warm_ip_target is not None:
        parts.append(f"WARM_IP_TARGET={s.warm_ip_target}")
    if s.minimum_ip_target is not None:
        parts.append(f"MINIMUM_IP_TARGET={s.minimum_ip_target}")
    if not s.ip_targets_set:
        parts.append(f"WARM_PREFIX_TARGET={s.warm_prefix_target}" if s.prefix_delegation
                     else f"WARM_ENI_TARGET={s.warm_eni_target}")
    if s.max_eni is not None:
        parts.append(f"MAX_ENI={s.max_eni}")
    if s.custom_networking:
        parts.append("custom networking")
    return ", ".join(parts)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise EkslibError(f"{what} must be a DataFrame, not {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EkslibError(f"{what} lacks the columns {missing}: pass what {what.split()[0]} returns")


def _time_axis(seconds: pd.Series, unit: str | None) -> tuple[list[float], str]:
    """Times in seconds, minutes or hours (``unit`` None: chosen from the duration) and the axis title."""
    span = float(seconds.max()) if len(seconds) else 0.0
    if unit is None:
        unit = "s" if span <= 20 * 60 else "min" if span <= 6 * 3600 else "h"
    if unit not in ("s", "min", "h"):
        raise EkslibError(f"time unit {unit!r} is not one of 's', 'min', 'h'")
    scale = {"s": 1, "min": 60, "h": 3600}[unit]
    name = {"s": "seconds", "min": "minutes", "h": "hours"}[unit]
    return [round(float(t) / scale, 4) for t in seconds], f"time ({name})"


def _subplots(**grid: Any) -> dict[str, Any]:
    """The layout ``make_subplots(**grid)`` makes, as a plain dict without plotly's default template: the
    panels' axes (domains, anchors, shared axes) and their titles (``annotations``). Panel ``n``, counted
    along the rows from the top left, draws on the axes :func:`_on_panel` names. ``make_subplots`` is most of
    what a figure of panels costs (7-11 ms), so each grid is made once and copied (a widget redraws the same)."""
    return copy.deepcopy(_grid_layout(json.dumps(grid, sort_keys=True)))


@functools.lru_cache(maxsize=32)
def _grid_layout(grid: str) -> dict[str, Any]:
    layout = make_subplots(**json.loads(grid)).layout.to_plotly_json()
    del layout["template"]
    return layout


def _on_panel(n: int) -> dict[str, str]:
    """A trace's axes on panel ``n`` (1, 2, ...) of a :func:`_subplots` grid: ``x``, ``y``; ``x2``, ``y2``; ..."""
    suffix = "" if n == 1 else str(n)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def _axis(layout: dict[str, Any], letter: str, n: int) -> dict[str, Any]:
    """The layout's ``xaxis``/``yaxis`` (``letter`` x or y) of panel ``n``: ``yaxis``, ``yaxis2``, ..."""
    return layout[f"{letter}axis{'' if n == 1 else n}"]


def _titles_left(layout: dict[str, Any]) -> None:
    """The panel titles in the template's font size, at the left edge of the plot."""
    for note in layout.get("annotations", ()):
        note.update(font={"size": 12}, x=0, xanchor="left")


# ----------------------------------------------------------------------------------------- 1. timeline


def timeline_figure(timeline: pd.DataFrame, *, title: str | None = None, unit: str | None = None) -> go.Figure:
    """Four stacked panels over one time axis for a :func:`ekslib.ipam.simulate` timeline: pods (running,
    pending), pod addresses (attached, assigned to pods, available = the warm pool, in the 30 s cooldown),
    ENIs, and cumulative EC2 calls. Steps are drawn as ipamd sees them: constant between two 5 s loops.
    Hovering shows every value at a time, with what happened then. ``unit``: 's', 'min' or 'h' (None: by
    the duration).

    >>> from ekslib.ipam import simulate, ramp
    >>> fig = timeline_figure(simulate("t3.medium", ramp(3), duration_s=60))
    >>> [t.name for t in fig.data][:3]
    ['pods running', 'pods pending', 'attached']
    """
    _require(timeline, _TIMELINE_COLUMNS, "simulate() timeline")
    x, x_title = _time_axis(timeline["time_s"], unit)
    events = timeline["event"].fillna("").tolist() if "event" in timeline else [""] * len(timeline)
    layout = _subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.25, 0.35, 0.15, 0.25],
                       subplot_titles=("pods on the node", "pod addresses on the node", "ENIs attached",
                                       "EC2 API calls so far"))
    data: list[dict[str, Any]] = []

    def line(column: str, name: str, colour: str, row: int, **style: Any) -> None:
        values = [int(v) for v in timeline[column]]
        data.append({"type": "scatter", "x": x, "y": values, "name": name, "mode": "lines",
                     "line": {"shape": "hv", "color": colour, "width": 2, **style.pop("line", {})},
                     "legendgroup": str(row), **style, **_on_panel(row)})

    line("pods_running", "pods running", COLOURS["pod"], 1, customdata=events,
         hovertemplate="%{y}<br><i>%{customdata}</i>")
    line("pods_pending", "pods pending", COLOURS["pending"], 1, line={"dash": "dot"})
    line("ips_attached", "attached", "#252525", 2)
    line("assigned", "assigned to pods", COLOURS["pod"], 2)
    line("available", "available (warm)", "#6baed6", 2, fill="tozeroy", fillcolor="rgba(158,202,225,0.35)")
    line("cooldown", "in 30 s cooldown", COLOURS["cooldown"], 2, line={"width": 1.5})
    line("enis", "ENIs", COLOURS["primary"], 3)
    line("ec2_calls", "EC2 calls", COLOURS["calls"], 4)
    if "failures" in timeline and int(timeline["failures"].max()) > 0:
        line("failures", "failed allocations", COLOURS["pending"], 4, line={"dash": "dot"})
    attrs = timeline.attrs
    if title is None:
        name = attrs.get("instance_type", "a node")
        settings = attrs.get("settings")
        title = f"{name}: ipamd's pool over time" + (f" ({settings_label(settings)})" if settings else "")
    final = timeline.iloc[-1] if len(timeline) else None
    subtitle = (f"at the end: {int(final['pods_running'])} pods running, {int(final['ips_attached'])} pod addresses "
                f"attached on {_plural(int(final['enis']), 'ENI')}, {int(final['ec2_calls'])} EC2 calls; "
                f"one point per {POOL_LOOP_S} s pool loop; {_SOURCE_IPAMD}") if final is not None else ""
    layout.update(
        title={"text": title, "subtitle": {"text": subtitle}},
        template=TEMPLATE, height=720, margin={"l": 70, "r": 30, "t": 110, "b": 60}, hovermode="x unified",
        legend={"orientation": "h", "x": 0, "y": -0.08, "yanchor": "top"},
    )
    for row, axis_title in enumerate(("pods", "addresses", "ENIs", "calls"), start=1):
        _axis(layout, "y", row).update(rangemode="tozero", title={"text": axis_title})
    _axis(layout, "y", 3)["dtick"] = 1
    _axis(layout, "x", 4)["title"] = {"text": x_title}
    _titles_left(layout)
    return figure(data, layout)


# ------------------------------------------------------------------------------- 2. the grid of ENI slots


@dataclass(frozen=True)
class _EniView:
    """What the grid draws of one ENI: pods on each attached slot (address or prefix), and whether it is ready."""

    used: tuple[int, ...]
    ready: bool = True


def _views_from_state(state: PoolState) -> list[_EniView]:
    """ENI views of a steady state: addresses are assigned from the first slot on (oldest ENI first)."""
    if state.limits.prefix_mode:
        views, at = [], 0
        for count in state.per_eni:
            views.append(_EniView(tuple(state.pods_per_prefix[at:at + count])))
            at += count
        return views
    return [_EniView(tuple(1 if j < pods else 0 for j in range(slots)))
            for slots, pods in zip(state.per_eni, state.pods_per_eni, strict=True)]


def _views_from_table(table: pd.DataFrame) -> list[_EniView]:
    """ENI views of :meth:`ekslib.ipam.NodeSimulation.eni_table`."""
    return [_EniView(tuple(int(u) for u in used), bool(ready))
            for used, ready in zip(table["pods_per_slot"], table["ready"], strict=True)]


def _marker_size(slots: int) -> int:
    """Pixel size of a slot square: large for the few slots of small types, small for 49-slot ENIs."""
    return 24 if slots <= 15 else 18 if slots <= 30 else 13


def _grid_traces(views: Sequence[_EniView], unit: int, slots: int, caption: str) -> list[dict[str, Any]]:
    """The moving traces of the slot grid: ENI primaries, warm slots, slots with pods, slots attaching, caption.

    Column 0 holds each ENI's primary address, columns 1..P its slots; row i is eni-i. An empty kind keeps
    one invisible point, so that its legend entry stays.
    """
    points: dict[str, tuple[list[int | None], list[int | None], list[str]]] = {
        k: ([], [], []) for k in ("primary", "warm", "pod", "attaching")}
    for i, view in enumerate(views):
        points["primary"][0].append(0)
        points["primary"][1].append(i)
        points["primary"][2].append("")
        for j, used in enumerate(view.used):
            kind = "attaching" if not view.ready else "pod" if used else "warm"
            points[kind][0].append(j + 1)
            points[kind][1].append(i)
            points[kind][2].append(str(used) if unit > 1 and used else "")
    names = {"primary": "ENI primary address (no pod)", "warm": "attached, no pod (warm)",
             "pod": "prefix with pods (number: pods)" if unit > 1 else "assigned to a pod",
             "attaching": "on an ENI still attaching"}
    size = _marker_size(slots)
    traces: list[dict[str, Any]] = []
    for kind in ("primary", "warm", "pod", "attaching"):
        xs, ys, text = points[kind] if points[kind][0] else ([None], [None], [""])
        with_text = unit > 1 and kind == "pod"
        trace = {"type": "scatter", "x": xs, "y": ys, "mode": "markers+text" if with_text else "markers",
                 "name": names[kind], "textfont": {"color": "white", "size": 10 if size >= 18 else 8},
                 "marker": {"symbol": "square", "size": size, "color": COLOURS[kind], "line": {"width": 0}},
                 "hoverinfo": "skip"}
        if with_text:
            trace["text"] = text
        traces.append(trace)
    traces.append({"type": "scatter", "x": [-0.5], "y": [-1], "mode": "text", "text": [caption],
                   "textposition": "middle right", "textfont": {"size": 13}, "hoverinfo": "skip",
                   "showlegend": False})
    return traces


#: What an animation frame sets in each moving trace of the grid: the points and the text, which change (plotly.js
#: merges a frame into the traces it names, ``Plotly.animate``; the style stays the first frame's), and the name
#: and mode, so that a frame's traces still read alone (``fig.frames[-1].data``, found by name).
_FRAME_KEYS = ("name", "mode", "x", "y", "text")


def _grid_scene(enis: int, slots: int, unit: int, title: str, subtitle: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The static scene of the slot grid, every slot the node could hold as an empty outline: its one trace and
    the layout."""
    xs = [j for _ in range(enis) for j in range(slots + 1)]
    ys = [i for i in range(enis) for _ in range(slots + 1)]
    what = "a /28 prefix (16 addresses)" if unit > 1 else "a secondary address"
    hover = [f"eni-{i}: its primary address" if j == 0 else f"eni-{i}, slot {j}: {what}" for i, j in zip(ys, xs)]
    size = _marker_size(slots)
    outlines = {"type": "scatter", "x": xs, "y": ys, "mode": "markers", "name": "slot the ENI could hold",
                "marker": {"symbol": "square-open", "size": size, "color": COLOURS["empty"], "line": {"width": 1.5}},
                "hovertext": hover, "hoverinfo": "text"}
    step = 1 if slots <= 15 else 5
    ticks = [0] + [j for j in range(1, slots + 1) if (j == 1 and step == 1) or j % step == 0]
    kind = "prefixes (/28, 16 addresses each)" if unit > 1 else "secondary addresses"
    return outlines, dict(
        title={"text": title, "subtitle": {"text": subtitle}},
        template=TEMPLATE, height=(size + 12) * (enis + 2) + 230, margin={"l": 70, "r": 30, "t": 130, "b": 60},
        plot_bgcolor="white",
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        xaxis={"range": [-0.8, max(slots, 10) + 0.8], "autorange": False, "fixedrange": True, "zeroline": False,
               "showgrid": False, "tickmode": "array", "tickvals": ticks,
               "ticktext": ["primary"] + [str(j) for j in ticks[1:]],
               "title": {"text": f"an ENI's primary address, then its {slots} slots for {kind}"}},
        yaxis={"range": [enis - 0.4, -1.6], "autorange": False, "fixedrange": True, "zeroline": False,
               "showgrid": False, "tickmode": "array", "tickvals": list(range(enis)),
               "ticktext": [f"eni-{i}" for i in range(enis)]},
    )


def _caption(row: Mapping[str, Any], unit: int) -> str:
    held = f"{int(row['prefixes'])} prefixes = " if unit > 1 else ""
    return (f"t = {int(row['time_s'])} s · {_plural(int(row['pods_running']), 'pod')} running, "
            f"{int(row['pods_pending'])} pending · {_plural(int(row['enis']), 'ENI')} · {held}"
            f"{int(row['ips_attached'])} addresses attached, "
            f"{int(row['available'])} warm · {int(row['ec2_calls'])} EC2 calls")


def pool_animation_figure(instance_type: str = "t3.medium", pods: int | None = None, *, every_s: float = 10.0,
                          tail_s: float = 60.0, max_frames: int = 40, **settings: Any) -> go.Figure:
    """An animation of ENIs and addresses filling as ``pods`` pods arrive one every ``every_s`` seconds on a
    fresh node (None: as many as it can run) from 10 s on (the first frame is the node before any pod),
    followed for ``tail_s`` more seconds.

    Each row is an ENI; its first square is the ENI's primary address (never a pod's), the others its
    slots (secondary addresses, or /28 prefixes with the pods in each). The static scene (every slot the
    node could attach) is drawn once; each frame (at most ``max_frames``, one per change of the pool)
    moves only the coloured squares and the caption: it carries their points, text and names, not their style
    (the first frame's stays). Play/pause buttons and a time slider drive it; axis ranges are fixed.
    ``settings``: the fields of :class:`ekslib.ipam.PoolSettings`.

    >>> fig = pool_animation_figure("t3.medium", 6)
    >>> len(fig.frames), fig.frames[-1].traces
    (8, (1, 2, 3, 4, 5))
    """
    whole("max_frames", max_frames, minimum=2)
    if not 0 <= tail_s <= 3600:
        raise EkslibError(f"tail_s must be 0 to 3600 seconds, not {tail_s}")
    sim = NodeSimulation(instance_type, **settings)
    limits = sim.limits
    count = limits.max_pod_addresses if pods is None else pods
    arrivals = ramp(count, every_s=every_s, start_s=2 * POOL_LOOP_S)  # validates pods and every_s
    end = (arrivals[-1][0] if arrivals else 0.0) + tail_s
    snapshots: list[tuple[dict[str, Any], list[_EniView]]] = []
    at = 0
    for k in range(int(end // POOL_LOOP_S) + 1):
        sim.now = float(k * POOL_LOOP_S)
        due = 0
        while at < len(arrivals) and arrivals[at][0] <= sim.now:
            due, at = due + 1, at + 1
        sim.add_pods(due)
        sim.tick()
        sim.take_events()
        views = _views_from_table(sim.eni_table())
        if not snapshots or views != snapshots[-1][1] or sim.row()["pods_pending"] != snapshots[-1][0]["pods_pending"]:
            snapshots.append((sim.row(), views))
    if len(snapshots) > max_frames:  # keep the first and the last, evenly in between
        keep = sorted({round(i * (len(snapshots) - 1) / (max_frames - 1)) for i in range(max_frames)})
        snapshots = [snapshots[i] for i in keep]
    unit = limits.unit
    enis = limits.enis
    label = settings_label(sim.settings)
    outlines, layout = _grid_scene(
        enis, limits.slots_per_eni, unit,
        f"{limits.instance_type}: ENIs and addresses as {_plural(count, 'pod')} arrive ({label})",
        f"one pod every {every_s:g} s on a fresh node; press ▶ or drag the slider; {_SOURCE_IPAMD}")
    moving = [_grid_traces(views, unit, limits.slots_per_eni, _caption(row, unit)) for row, views in snapshots]
    data = [outlines, *moving[0]]  # the first frame, drawn before ▶ is pressed
    frames = [{"name": f"{int(row['time_s'])} s", "traces": list(range(1, len(data))),
               "data": [{k: t[k] for k in _FRAME_KEYS if k in t} for t in traces]}
              for (row, _), traces in zip(snapshots, moving, strict=True)]
    play = {"frame": {"duration": 700, "redraw": False}, "fromcurrent": True, "transition": {"duration": 0}}
    stop = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    layout.update(
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0, "xanchor": "left", "y": -0.02,
                      "yanchor": "top", "pad": {"t": 70, "r": 10}, "showactive": False,
                      "buttons": [{"label": "▶ play", "method": "animate", "args": [None, play]},
                                  {"label": "❚❚ pause", "method": "animate", "args": [[None], stop]}]}],
        sliders=[{"active": 0, "x": 0.2, "len": 0.8, "y": -0.02, "yanchor": "top", "pad": {"t": 60},
                  "currentvalue": {"prefix": "t = ", "suffix": " s"}, "font": {"size": 10},
                  "steps": [{"label": f["name"].split()[0], "method": "animate", "args": [[f["name"]], stop]}
                            for f in frames]}],
        height=layout["height"] + 90,
    )
    layout["margin"]["b"] = 130
    return figure(data, layout, frames)


def pool_figure(state: PoolState) -> go.Figure:
    """One steady state (:func:`ekslib.ipam.steady_state`) as the grid of ENI slots of
    :func:`pool_animation_figure`: which ENIs are attached, which slots hold pods and which are warm.

    >>> from ekslib.ipam import steady_state
    >>> fig = pool_figure(steady_state("t3.small", 58, prefix_delegation=True))
    >>> [len(t.x) for t in fig.data[1:4]]
    [2, 1, 4]
    """
    if not isinstance(state, PoolState):
        raise EkslibError(f"pool_figure draws a PoolState (what steady_state returns), not {type(state).__name__}")
    limits = state.limits
    unit = limits.unit
    held = f"{_plural(state.prefixes, 'prefix', 'prefixes')} = " if unit > 1 else ""
    waiting = f" ({state.pending} waiting for an address)" if state.pending else ""
    title = (f"{state.instance_type} with {_plural(state.pods, 'pod')}{waiting}: {_plural(state.enis, 'ENI')}, "
             f"{held}{state.ips} pod addresses attached, {state.unused} unused")
    per = ",".join(map(str, state.per_eni))
    subtitle = (f"{settings_label(state.settings)}; {'prefixes' if unit > 1 else 'addresses'} per ENI {per}; "
                f"the node holds {state.subnet_addresses} subnet addresses (ENI primaries included); "
                f"{state.ec2_calls} EC2 calls from boot" + "".join(f"<br>{note}" for note in state.notes))
    outlines, layout = _grid_scene(limits.enis, limits.slots_per_eni, unit, title, subtitle)
    caption = f"{_plural(state.pods, 'pod')}{waiting} · {_plural(state.unused, 'address', 'addresses')} unused" + (
        f" ({state.unused_prefixes} empty of {_plural(state.prefixes, 'prefix', 'prefixes')})" if unit > 1 else "")
    return figure([outlines, *_grid_traces(_views_from_state(state), unit, limits.slots_per_eni, caption)], layout)


# ------------------------------------------------------------------------------ 3. settings compared


def settings_figure(instance_type: str, comparison: Mapping[str, Mapping[str, Any]] | None = None, *,
                    pods: int | None = None) -> go.Figure:
    """Unused addresses (top) and EC2 calls made since boot (bottom) against the pods on a node, one line per
    pool setting, for pods arriving one by one on a fresh node (:func:`ekslib.ipam.steady_states`).

    ``comparison``: ``{label: PoolSettings fields}`` (default :data:`DEFAULT_COMPARISON`: WARM_ENI_TARGET=1,
    WARM_IP_TARGET=1, WARM_IP_TARGET=2 with MINIMUM_IP_TARGET=10, prefix mode); ``pods``: the last pod count
    (None: each setting up to what the node can run). The trade-off: fewer unused addresses cost more calls.

    >>> fig = settings_figure("t3.medium", {"default": {}}, pods=3)
    >>> list(fig.data[0].y)
    [5, 9, 8, 7]
    """
    comparison = DEFAULT_COMPARISON if comparison is None else comparison
    if not comparison:
        raise EkslibError("settings_figure needs at least one setting to draw")
    layout = _subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                       subplot_titles=("addresses attached but unused (warm)", "EC2 API calls since boot"))
    data: list[dict[str, Any]] = []
    name = instance_type
    for k, (label, flags) in enumerate(comparison.items()):
        table = steady_states(instance_type, pods, **dict(flags))
        name = str(table["instance_type"].iloc[0])
        colour = _LINE_COLOURS[k % len(_LINE_COLOURS)]
        per_eni = [",".join(map(str, v)) for v in table["per_eni"]]
        custom = [[int(e), int(i), p] for e, i, p in zip(table["enis"], table["ips"], per_eni, strict=True)]
        for row, column in ((1, "unused"), (2, "ec2_calls")):
            data.append({
                "type": "scatter", "x": [int(p) for p in table["pods"]], "y": [int(v) for v in table[column]],
                "name": label, "legendgroup": label, "showlegend": row == 1, "mode": "lines",
                "line": {"shape": "hv", "color": colour, "width": 2}, "customdata": custom,
                "hovertemplate": (f"<b>{label}</b><br>%{{x}} pods: %{{y}}<br>%{{customdata[0]}} ENIs, "
                                  "%{customdata[1]} pod addresses (per ENI %{customdata[2]})<extra></extra>"),
                **_on_panel(row)})
    layout.update(
        title={"text": f"{name}: addresses wasted against EC2 calls, per pool setting",
               "subtitle": {"text": "each point: the pool once it settles with that many pods (pods arriving "
                                    f"one by one on a fresh node); {_SOURCE_IPAMD}"}},
        template=TEMPLATE, height=620, margin={"l": 70, "r": 30, "t": 100, "b": 60},
        legend={"orientation": "h", "x": 0, "y": -0.1, "yanchor": "top"},
    )
    for row, axis_title in enumerate(("addresses", "calls"), start=1):
        _axis(layout, "y", row).update(rangemode="tozero", title={"text": axis_title})
    _axis(layout, "x", 2)["title"] = {"text": "pods on the node"}
    _titles_left(layout)
    return figure(data, layout)


# ------------------------------------------------------------------------------------- 4. subnet plans


_PLAN_PARTS = (("node_ips", "node primary addresses", COLOURS["primary"]),
               ("eni_ips", "other ENIs' primary addresses", COLOURS["eni primary"]),
               ("assigned", "assigned to pods", COLOURS["pod"]),
               ("warm", "warm (attached, unused)", COLOURS["warm"]),
               ("free", "free in the subnet", COLOURS["free"]))


def subnet_plan_figure(plans: Mapping[str, SubnetPlan]) -> go.Figure:
    """One panel per :func:`ekslib.ipam.plan_subnets` result: a stacked bar per subnet of its usable
    addresses, split into node primaries, other ENIs' primaries, pod addresses assigned and warm, and free;
    the text above each bar says how many more nodes or pods fit before EC2 refuses. Each panel has its own
    scale (a /19 holds 32 times a /24).

    >>> from ekslib.ipam import plan_subnets
    >>> fig = subnet_plan_figure({"three /24s": plan_subnets(["10.0.0.0/24"], [("m5.large", 4)])})
    >>> fig.data[0].x
    (4,)
    """
    if not plans:
        raise EkslibError("subnet_plan_figure needs at least one plan: {'label': plan_subnets(...)}")
    for label, plan in plans.items():
        if not isinstance(plan, SubnetPlan):
            raise EkslibError(f"plan {label!r} is a {type(plan).__name__}, not what plan_subnets returns")
    titles = []
    for label, plan in plans.items():
        t = plan.totals
        titles.append(f"<b>{label}</b>: {int(t['nodes'])} nodes hold {int(t['held']):,} of {int(t['usable']):,} "
                      f"usable addresses ({int(t['warm']):,} warm)")
    layout = _subplots(rows=len(plans), cols=1, vertical_spacing=0.18 if len(plans) > 1 else 0.1,
                       subplot_titles=titles)
    _titles_left(layout)  # the panel titles, before the notes
    notes = layout["annotations"]
    data: list[dict[str, Any]] = []
    for r, plan in enumerate(plans.values(), start=1):
        table = plan.subnets
        names = [f"{name} {subnet}" for name, subnet in zip(table["name"], table["subnet"], strict=True)][::-1]
        rows = table.iloc[::-1]
        for column, label, colour in _PLAN_PARTS:
            values = [max(int(v), 0) for v in rows[column]]
            data.append({"type": "bar", "y": names, "x": values, "orientation": "h", "name": label,
                         "legendgroup": column, "showlegend": r == 1, "marker": {"color": colour},
                         "hovertemplate": f"%{{y}}<br>{label}: %{{x:,}}<extra></extra>", **_on_panel(r)})
        longest = max(max(int(u), int(h)) for u, h in zip(rows["usable"], rows["held"], strict=True))
        x_axis = _axis(layout, "x", r)
        x_axis["range"] = [0, longest * 1.02]
        if r == len(plans):
            x_axis["title"] = {"text": "addresses"}
        _axis(layout, "y", r)["automargin"] = True
        axes = _on_panel(r)
        for name, (_, row) in zip(names, rows.iterrows(), strict=True):
            if not bool(row["fits"]):
                note = f"does not fit: short of {-int(row['free']):,} addresses ({row['limit']})"
            else:
                then = ("until every node is at its max pods" if str(row["limit"]).startswith("every")
                        else f"then EC2 answers {row['limit']}")
                note = (f"{int(row['free']):,} free: room for {_plural(int(row['more_nodes']), 'more node')} "
                        f"({row['more_nodes_type']}), or {int(row['more_pods']):,} more pods on these nodes, {then}")
            notes.append({"text": note, "xref": f"{axes['xaxis']} domain", "x": 0, "xanchor": "left",
                          "yref": axes["yaxis"], "y": name, "yshift": 19, "showarrow": False,
                          "font": {"size": 11, "color": "#222"}})
    layout.update(
        title={"text": "Addresses per subnet: who holds them, and what still fits",
               "subtitle": {"text": "every pool settled at the node groups' pods (ekslib.ipam.plan_subnets); "
                                    "5 addresses of each subnet are AWS's (Amazon VPC User Guide)"}},
        barmode="stack", bargap=0.5, template=TEMPLATE, height=170 + 190 * len(plans),
        margin={"l": 70, "r": 30, "t": 110, "b": 60},
        legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top", "traceorder": "normal"},
    )
    return figure(data, layout)


# ------------------------------------------------------------------------------------- 5. fragmentation


def fragmentation_figure(subnet: Any, used_addresses: Iterable[Any] = (), *, max_blocks: int = 64) -> go.Figure:
    """A subnet address by address, one row per aligned /28 block (16 columns): reserved by AWS, in use, free
    but in a /28 that holds a used address (a single address still, never a prefix), and free in a wholly
    free /28 (what prefix delegation can still get). With no free /28, EC2 answers a prefix request with
    ``InsufficientCidrBlocks`` though addresses are free. Subnets of more than ``max_blocks`` /28s (a /22)
    are refused.

    >>> from ekslib.ipam import fragmented_subnet
    >>> fig = fragmentation_figure(*fragmented_subnet("10.0.0.0/24"))
    >>> fig.layout.title.text
    '10.0.0.0/24: 235 free addresses, 0 free aligned /28s: a prefix request fails (InsufficientCidrBlocks)'
    """
    network = parse_subnet(subnet)
    blocks = network.num_addresses // IPS_PER_PREFIX if network.prefixlen <= 28 else 1
    if blocks > max_blocks:
        raise EkslibError(f"subnet {network} has {blocks} /28 blocks: fragmentation_figure draws at most "
                          f"{max_blocks} (a /{32 - (max_blocks * IPS_PER_PREFIX).bit_length() + 1}); pass a smaller "
                          f"subnet or a larger max_blocks")
    used = list(used_addresses)
    space = SubnetSpace(network, used)
    reserved = {int(a) for a in space.reserved}
    free_blocks = {int(p.network_address) for p in space.free_prefixes()}
    base = int(network.network_address)
    z: list[list[int]] = []
    hover: list[list[str]] = []
    labels = []
    names = ("free in a free /28 (prefix possible)", "free, but its /28 holds a used address", "in use",
             "reserved by AWS")
    for b in range(blocks):
        start = base + b * IPS_PER_PREFIX
        labels.append(str(ipaddress.IPv4Network((start, PREFIX_LENGTH))))
        z_row, h_row = [], []
        for offset in range(IPS_PER_PREFIX):
            value = start + offset
            address = ipaddress.IPv4Address(value)
            if value in reserved:
                code = 3
            elif not space.is_free(address):
                code = 2
            else:
                code = 0 if start in free_blocks else 1
            z_row.append(code)
            h_row.append(f"{address}: {names[code]}")
        z.append(z_row)
        hover.append(h_row)
    colours = (COLOURS["free"], "#fee391", COLOURS["pod"], COLOURS["reserved"])
    scale = []
    for k, colour in enumerate(colours):
        scale += [[k / 4, colour], [(k + 1) / 4, colour]]
    data: list[dict[str, Any]] = [{
        "type": "heatmap", "z": z, "x": list(range(IPS_PER_PREFIX)), "y": labels, "zmin": -0.5, "zmax": 3.5,
        "colorscale": scale, "xgap": 1, "ygap": 1, "hovertext": hover, "hoverinfo": "text", "showscale": False}]
    for k, name in enumerate(names):  # a legend for the four colours
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": name,
                     "marker": {"symbol": "square", "size": 12, "color": colours[k]}})
    free = space.free_count
    verdict = ("a prefix request fails (InsufficientCidrBlocks)" if not free_blocks
               else f"room for {_plural(len(free_blocks), 'more prefix', 'more prefixes')}")
    return figure(data, dict(
        title={"text": f"{network}: {free} free addresses, {len(free_blocks)} free aligned /28s: {verdict}",
               "subtitle": {"text": "one row per /28 block, one column per address in it (offset 0 to 15); a "
                                    "delegated prefix must be a whole, aligned, unused /28 (EC2 User Guide, "
                                    "'Assign prefixes to network interfaces')"}},
        template=TEMPLATE, height=max(320, 18 * blocks + 230), margin={"l": 120, "r": 30, "t": 100, "b": 40},
        plot_bgcolor="white", legend={"orientation": "h", "x": 0, "y": 0, "yanchor": "top"},
        xaxis={"side": "top", "dtick": 1, "showgrid": False},
        yaxis={"type": "category", "autorange": "reversed", "showgrid": False},
    ))



# ------------------------------------------------------------------------------------------ 6. clusters


def fleet_figure(timeline: pd.DataFrame, *, unit: str | None = None) -> go.Figure:
    """Three panels over time for a :func:`ekslib.ipam.simulate_cluster` run: pods running and pending
    (whole cluster), free addresses left in each subnet, and warm addresses per subnet.

    >>> from ekslib.ipam import simulate_cluster, FleetGroup
    >>> run = simulate_cluster(["10.0.0.0/24"], [FleetGroup("t3.medium", 3)], duration_s=300)
    >>> [t.name for t in fleet_figure(run).data][:3]
    ['pods running', 'pods pending', 'free: 10.0.0.0/24']
    """
    _require(timeline, ("time_s", "subnet", "pods_running", "pods_pending", "warm", "subnet_free", "ec2_calls"),
             "simulate_cluster() timeline")
    whole = timeline.groupby("time_s", sort=True)[["pods_running", "pods_pending", "warm", "ec2_calls",
                                                   "failures"]].sum()
    x, x_title = _time_axis(pd.Series(whole.index), unit)
    layout = _subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                       subplot_titles=("pods in the cluster", "free addresses left in each subnet",
                                       "warm addresses (attached, unused) in each subnet"))
    data: list[dict[str, Any]] = [
        {"type": "scatter", "x": x, "y": [int(v) for v in whole["pods_running"]], "name": "pods running",
         "mode": "lines", "line": {"color": COLOURS["pod"], "width": 2}, **_on_panel(1)},
        {"type": "scatter", "x": x, "y": [int(v) for v in whole["pods_pending"]], "name": "pods pending",
         "mode": "lines", "line": {"color": COLOURS["pending"], "width": 2}, **_on_panel(1)},
    ]
    subnets = list(timeline["subnet"].cat.categories) if hasattr(timeline["subnet"], "cat") \
        else sorted(timeline["subnet"].unique())
    for k, subnet in enumerate(subnets):
        part = timeline[timeline["subnet"] == subnet].sort_values("time_s")
        xs, _ = _time_axis(part["time_s"], unit or _unit_of(x_title))
        colour = _LINE_COLOURS[(k + 2) % len(_LINE_COLOURS)]
        data.append({"type": "scatter", "x": xs, "y": [int(v) for v in part["subnet_free"]],
                     "name": f"free: {subnet}", "legendgroup": str(subnet), "mode": "lines",
                     "line": {"color": colour, "width": 2}, **_on_panel(2)})
        data.append({"type": "scatter", "x": xs, "y": [int(v) for v in part["warm"]], "name": f"warm: {subnet}",
                     "legendgroup": str(subnet), "showlegend": False, "mode": "lines",
                     "line": {"color": colour, "width": 1.5}, **_on_panel(3)})
    attrs = timeline.attrs
    settings = attrs.get("settings")
    groups = attrs.get("node_groups", ())
    nodes = ", ".join(f"{g.nodes} {g.instance_type}" for g in groups) or "the cluster"
    last = whole.iloc[-1]
    layout.update(
        title={"text": f"{nodes} in {_plural(len(subnets), 'subnet')}: address use over time"
                       + (f" ({settings_label(settings)})" if settings else ""),
               "subtitle": {"text": f"at the end: {int(last['pods_running']):,} pods running, "
                                    f"{int(last['pods_pending']):,} pending, {int(last['warm']):,} warm addresses, "
                                    f"{int(last['ec2_calls']):,} EC2 calls, {int(last['failures']):,} refused "
                                    "allocations (ekslib.ipam)"}},
        template=TEMPLATE, height=680, margin={"l": 70, "r": 30, "t": 110, "b": 60}, hovermode="x unified",
        legend={"orientation": "h", "x": 0, "y": -0.08, "yanchor": "top"},
    )
    for row, axis_title in enumerate(("pods", "addresses", "addresses"), start=1):
        _axis(layout, "y", row).update(rangemode="tozero", title={"text": axis_title})
    _axis(layout, "x", 3)["title"] = {"text": x_title}
    _titles_left(layout)
    return figure(data, layout)


def _unit_of(axis_title: str) -> str:
    return {"time (seconds)": "s", "time (minutes)": "min", "time (hours)": "h"}[axis_title]


def fleet_waste_figure(runs: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Pool settings compared across a cluster: for each :func:`ekslib.ipam.simulate_cluster` run, the
    pods it ran and the warm addresses it held on average, and the EC2 calls it made per hour. Compare runs
    with the same pods (e.g. the same ``max_pods``): prefix mode raises max pods, and the workload with it.

    >>> from ekslib.ipam import simulate_cluster, FleetGroup
    >>> runs = {"default": simulate_cluster(["10.0.0.0/24"], [FleetGroup("t3.medium", 3)], duration_s=600)}
    >>> fleet_waste_figure(runs).data[0].y
    ('default',)
    """
    if not runs:
        raise EkslibError("fleet_waste_figure needs at least one run: {'label': simulate_cluster(...)}")
    labels, pods, warm, calls, spans = [], [], [], [], set()
    for label, run in runs.items():
        _require(run, ("time_s", "warm", "ec2_calls", "pods_running"), "simulate_cluster() timeline")
        whole = run.groupby("time_s", sort=True)[["warm", "ec2_calls", "pods_running"]].sum()
        hours = max(float(whole.index[-1] - whole.index[0]) / 3600, 1 / 3600)
        spans.add(round(hours, 2))
        labels.append(str(label))
        pods.append(round(float(whole["pods_running"].mean()), 1))
        warm.append(round(float(whole["warm"].mean()), 1))
        calls.append(round(float(whole["ec2_calls"].iloc[-1] - whole["ec2_calls"].iloc[0]) / hours, 1))
    labels = labels[::-1]  # plotly draws the first category at the bottom: the first run goes on top
    panels = (("pods running, on average", pods[::-1], COLOURS["pod"]),
              ("warm addresses, on average", warm[::-1], COLOURS["warm"]),
              ("EC2 API calls per hour", calls[::-1], COLOURS["calls"]))
    layout = _subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                       subplot_titles=[title for title, _, _ in panels])
    data: list[dict[str, Any]] = []
    for c, (title, values, colour) in enumerate(panels, start=1):
        data.append({"type": "bar", "y": labels, "x": values, "orientation": "h", "name": title,
                     "marker": {"color": colour}, "text": [f"{v:,.0f}" for v in values], "textposition": "outside",
                     "cliponaxis": False, "hovertemplate": f"%{{y}}<br>{title}: %{{x:,}}<extra></extra>",
                     **_on_panel(c)})
        _axis(layout, "x", c)["range"] = [0, max(values) * 1.3 or 1]
        _axis(layout, "y", c)["automargin"] = True
    hours_text = f"{spans.pop():g} simulated hours" if len(spans) == 1 else "runs of different lengths"
    layout.update(
        title={
            "text": "The warm pool's trade-off across a cluster: addresses held against EC2 calls",
            "subtitle": {"text": f"same nodes, workload and seed for every setting; {hours_text} (ekslib.ipam)"},
        },
        template=TEMPLATE,
        showlegend=False,
        height=190 + 55 * len(labels),
        margin={"l": 70, "r": 40, "t": 120, "b": 40},
    )
    return figure(data, layout)
