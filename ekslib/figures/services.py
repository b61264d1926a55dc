"""Figures of Services and kube-proxy: every function returns a plain ``go.Figure`` with the collection's template.

* :func:`rules_traversed_figure`: what a new connection to a Service costs as the number of Services grows, per
  kube-proxy mode (:func:`ekslib.flows.scale.rules_traversed`): iptables mode traced by the engine through the
  generated rules, the first and the last Service of ``KUBE-SERVICES``; IPVS and nftables modes modelled (one
  lookup, flat); the real kernel's connect times at 10,000 Services (dataplane.md section 1) written beside the
  iptables lines.

>>> from ekslib.flows.scale import rules_traversed
>>> fig = rules_traversed_figure(rules_traversed((10, 100)))
>>> [trace.name for trace in fig.data]  # doctest: +NORMALIZE_WHITESPACE
['iptables, last Service (traced)', 'iptables, first Service (traced)', 'IPVS (modelled, not traced)',
 'nftables (modelled, not traced)']
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ekslib.errors import EkslibError
from ekslib.figures.theme import TEMPLATE, figure

__all__ = ["COLOURS", "KERNEL_SOURCE", "rules_traversed_figure"]

#: One colour per line.
COLOURS: dict[str, str] = {"last": "#d62728", "first": "#1f77b4", "ipvs": "#2ca02c", "nftables": "#9467bd"}
#: Where the real-kernel figures come from.
KERNEL_SOURCE = ("real kernel: TCP connect time, Debian 12, synthetic kube-proxy rules (7 per Service), "
                 "dataplane.md section 1")
_NEEDED = ("services", "mode", "first", "last", "how")
_MODELLED_NAMES = {"ipvs": ("IPVS", "dash", "square", "one hash-table lookup finds the Service"),
                   "nftables": ("nftables", "dot", "diamond", "one verdict-map lookup finds the Service")}


def _check(table: Any) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise EkslibError(f"rules_traversed_figure takes the DataFrame of rules_traversed(), not "
                          f"{type(table).__name__}")
    missing = [c for c in _NEEDED if c not in table.columns]
    if missing:
        raise EkslibError(f"the table lacks the columns {missing}: pass what rules_traversed() returns")
    if table.empty:
        raise EkslibError("the table is empty: nothing to draw")
    return table.sort_values("services", kind="stable")


def _text(row: pd.Series, column: str) -> str:
    value = row.get(column, "")
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _kernel(row: pd.Series, which: str) -> tuple[float, float] | None:
    legacy, nft = row.get(f"legacy_{which}_us", math.nan), row.get(f"nft_{which}_us", math.nan)
    if pd.isna(legacy) or pd.isna(nft):
        return None
    return float(legacy), float(nft)


def rules_traversed_figure(table: pd.DataFrame) -> go.Figure:
    """:func:`ekslib.flows.scale.rules_traversed` drawn on log-log axes: for iptables mode, the rules the engine
    evaluated for a new connection (request and reply) to the last and to the first Service port of
    ``KUBE-SERVICES`` (traced); for IPVS and nftables modes, the lookups that find the Service (modelled: flat,
    and a lookup is not a rule -- the lines show how the cost grows, not how the modes compare at 10 Services).
    Where the table has them (10,000 Services), the real kernel's connect times are written beside the iptables
    points, with their source.

    >>> from ekslib.flows.scale import rules_traversed
    >>> fig = rules_traversed_figure(rules_traversed((10,)))
    >>> fig.layout.xaxis.type, fig.layout.yaxis.type, list(fig.data[0].y)
    ('log', 'log', [38])
    """
    table = _check(table)
    data: list[dict[str, Any]] = []
    traced = table[(table["mode"] == "iptables") & (table["how"] == "traced")]
    for which in ("last", "first"):
        if traced.empty:
            break
        custom = [[_text(r, f"{which}_service"), _text(r, "service_ports")] for _, r in traced.iterrows()]
        data.append({
            "type": "scatter", "x": [int(n) for n in traced["services"]], "y": [int(v) for v in traced[which]],
            "name": f"iptables, {which} Service (traced)", "mode": "lines+markers",
            "line": {"color": COLOURS[which], "width": 2}, "marker": {"size": 8}, "customdata": custom,
            "hovertemplate": (f"<b>iptables mode, {which} Service port of KUBE-SERVICES</b> (%{{customdata[0]}})"
                              "<br>%{x:,} Services (%{customdata[1]} Service ports): %{y:,} rules evaluated, "
                              "request + reply<br>traced by the engine through the generated rules<extra></extra>")})
    for mode, (label, dash, symbol, what) in _MODELLED_NAMES.items():
        rows = table[(table["mode"] == mode)]
        if rows.empty:
            continue
        data.append({
            "type": "scatter", "x": [int(n) for n in rows["services"]], "y": [int(v) for v in rows["last"]],
            "name": f"{label} (modelled, not traced)", "mode": "lines+markers",
            "line": {"color": COLOURS[mode], "width": 2, "dash": dash}, "marker": {"size": 8, "symbol": symbol},
            "hovertemplate": (f"<b>{label} mode</b>: %{{x:,}} Services: %{{y}} lookup per new connection, first "
                              f"or last Service<br>modelled, not traced: {what} (ekslib generates no {label} "
                              "rules)<extra></extra>")})
    notes: list[dict[str, Any]] = []
    for _, row in traced.iterrows():
        for which, ay in (("last", -60), ("first", 50)):
            kernel = _kernel(row, which)
            if kernel is None:
                continue
            notes.append({
                "x": math.log10(int(row["services"])), "y": math.log10(int(row[which])), "ax": -150, "ay": ay,
                "text": (f"real kernel, {int(row['services']):,} Services, {which} Service:<br>"
                         f"{kernel[0]:g} us (iptables-legacy), {kernel[1]:g} us (iptables-nft)"),
                "showarrow": True, "arrowhead": 2, "arrowcolor": COLOURS[which], "align": "left", "bgcolor": "white",
                "bordercolor": COLOURS[which], "font": {"size": 11}})
    layout: dict[str, Any] = {
        "title": {"text": "kube-proxy: what a new connection to a Service meets, as Services grow",
                  "subtitle": {"text": "iptables mode: netfilter rules evaluated, traced by ekslib's engine through "
                                       "the rules ekslib generates; IPVS, nftables: lookups, modelled<br>"
                                       f"{KERNEL_SOURCE}"}},
        "template": TEMPLATE, "height": 520, "margin": {"l": 80, "r": 30, "t": 110, "b": 110},
        "legend": {"orientation": "h", "x": 0, "y": -0.18, "yanchor": "top"},
        "xaxis": {"type": "log", "title": {"text": "ClusterIP Services in the cluster"}},
        "yaxis": {"type": "log", "title": {"text": "per new connection: rules (iptables) / lookups"}},
    }
    if notes:
        layout["annotations"] = notes
    return figure(data, layout)
