"""Figures for pod capacity: every function takes data or simple arguments and returns a ``go.Figure``.

The numbers come from the model layer (:mod:`ekslib.capacity`, :mod:`ekslib.sources`); this module only
arranges them, as plain dicts of traces and layout that :func:`ekslib.figures.theme.figure` turns into a figure
without plotly.py's property-by-property validation. No function shows or displays anything, so the figures
compose and test well; a widget (``ekslib.widgets``) or a notebook cell decides when to show one.

>>> fig = modes_figure("m5")
>>> [trace.name for trace in fig.data][:3]
['standard', 'custom networking', 'prefix delegation (raw)']

Sources of the constants drawn here:

* 110 / 250 ceilings and the 30-vCPU threshold: the former awslabs/amazon-eks-ami
  ``max-pods-calculator.sh`` (``ekslib.capacity.CEILING_LOW_CPU`` ...);
* card 0 only for multi-card types, ``ENIs x (IPv4 per ENI - 1) + 2``: the header of
  aws/amazon-vpc-cni-k8s ``misc/eni-max-pods.txt`` (and ``scripts/gen_vpc_ip_limits.go``);
* 16 addresses per /28 prefix: aws/amazon-vpc-cni-k8s prefix delegation (``ENABLE_PREFIX_DELEGATION``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sequential

from ekslib.capacity import MODES, Explanation, capacity_table
from ekslib.errors import EkslibError, suggest
from ekslib.facts import (
    CEILING_CPU_THRESHOLD,
    CEILING_HIGH_CPU,
    CEILING_LOW_CPU,
    DEFAULT_CNI_VERSION,
    HOST_NETWORK_PODS,
    IPS_PER_PREFIX,
)
from ekslib.figures.theme import TEMPLATE, figure
from ekslib.sources.instance_types import load_instance_types, size_rank, sizes_of, split_name

__all__ = [
    "ISO_MAX_PODS", "max_pods_by_family_figure", "enis_vs_ips_figure", "modes_figure", "multi_card_figure",
    "explanation_figure",
]

#: Iso-lines of ``ENIs x (IPv4 per ENI - 1) + 2`` drawn on :func:`enis_vs_ips_figure`, with what each marks.
#: 17, 29, 737: t3.medium, m5.large, m5.24xlarge in aws/amazon-vpc-cni-k8s ``misc/eni-max-pods.txt``;
#: 110, 250: the ceilings of the former awslabs/amazon-eks-ami ``max-pods-calculator.sh``.
ISO_MAX_PODS: dict[int, str] = {
    17: "t3.medium",
    29: "m5.large",
    CEILING_LOW_CPU: f"calculator ceiling, <= {CEILING_CPU_THRESHOLD} vCPUs",
    CEILING_HIGH_CPU: f"calculator ceiling, > {CEILING_CPU_THRESHOLD} vCPUs",
    737: "m5.24xlarge",
}
#: Real-number ticks of the log colour bars (other values are added at the ends of the data's range).
_COLOR_TICKS = (4, 10, 30, 110, 250, 737, 3000, 10000)
#: plotly's Viridis as the [position, colour] stops plotly.py expands the name ``"Viridis"`` into (plotly.js has
#: its own, different "Viridis": the stops are spelled out, as plotly.py would send them).
_COLORSCALE: list[list[float | str]] = [
    [i / (len(sequential.Viridis) - 1), colour] for i, colour in enumerate(sequential.Viridis)
]
#: The three modes of :func:`modes_figure`, in drawing order: (label, key of ``MODES``, colour).
_MODE_BARS = (
    ("standard", "standard", "#1f77b4"),
    ("custom networking", "custom networking", "#ff7f0e"),
    ("prefix delegation (raw)", "prefix delegation", "#2ca02c"),
)
_SOURCE_CALCULATOR = "former awslabs/amazon-eks-ami max-pods-calculator.sh"
_SOURCE_CARD0 = "header of aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt"


# ----------------------------------------------------------------------------------------------- helpers


def _log_colorbar(low: float, high: float, title: str) -> dict[str, Any]:
    """A colour bar for log10-coloured values whose tick labels are the real numbers (4, 10, 30, 110 ...)."""
    ticks = sorted({t for t in _COLOR_TICKS if low <= t <= high} | {int(low), int(high)})
    # drop a data-end tick that would sit on top of a round tick (closer than 0.08 decades)
    kept: list[int] = []
    for tick in ticks:
        if kept and math.log10(tick) - math.log10(kept[-1]) < 0.08:
            if tick in _COLOR_TICKS:
                kept[-1] = tick
            continue
        kept.append(tick)
    return {
        "title": {"text": title},
        "tickvals": [round(math.log10(t), 4) for t in kept],
        "ticktext": [f"{t:,}" for t in kept],
        "lenmode": "pixels",
        "len": 320,
        "y": 1.0,
        "yanchor": "top",
        "thickness": 14,
    }


def _int(value: Any) -> int | None:
    """A plain int for JSON (None for a missing cell: None, NaN or ``<NA>``)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _family_key(family: str, category_order: dict[str, int] | None) -> tuple[Any, ...]:
    """Sort key of a family: category (given order or by name), then generation, then name."""
    _, category, generation, _ = split_name(f"{family}.large")
    rank = category_order.get(category, len(category_order)) if category_order is not None else 0
    return rank, category, generation, family


def _if_any(**items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The layout's ``shapes=`` / ``annotations=`` lists that are not empty (plotly.py drops an empty one)."""
    return {name: value for name, value in items.items() if value}


def _size_key(size: str) -> tuple[float, str]:
    return size_rank(size), size


def _category_of(family: str) -> str:
    return split_name(f"{family}.large")[1]


# ------------------------------------------------------------------------------------ 1. the heatmap


def max_pods_by_family_figure(
    table: pd.DataFrame | None = None, *, categories: list[str] | None = None
) -> go.Figure:
    """Heatmap of max pods: one row per family, one column per size, colour on a log scale.

    Families are sorted by category (the given ``categories`` order, else by name), then generation, then
    name, so m5, m5a, m5ad ... sit together; sizes run nano ... metal (:func:`ekslib.sources.size_rank`).
    Each cell shows its max pods; hovering gives the type and the numbers it comes from. ``table`` is a
    :func:`ekslib.capacity.capacity_table` (default: standard mode, which reproduces the VPC CNI's
    published aws/amazon-vpc-cni-k8s ``misc/eni-max-pods.txt``). ``categories`` keeps those categories
    (the letters before the generation: "m", "c", "hpc" ...); an unknown one raises :class:`EkslibError`.

    >>> fig = max_pods_by_family_figure(categories=["m", "c", "r", "t"])
    """
    mode = ("standard mode (the formula of aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt)" if table is None
            else "the given capacity table's settings")
    table = capacity_table() if table is None else table
    category_order: dict[str, int] | None = None
    if categories is not None:
        wanted = list(dict.fromkeys(categories))
        known = sorted({_category_of(f) for f in table["family"].unique()})
        unknown = [c for c in wanted if c not in known]
        if unknown or not wanted:
            hints = {c: suggest(c, known, n=3) for c in unknown}
            hint = "; ".join(f"{c!r}: did you mean {', '.join(h)}?" for c, h in hints.items() if h)
            raise EkslibError(
                f"unknown instance categories {unknown or wanted!r}" + (f" ({hint})" if hint else "")
                + f"; the table has: {', '.join(known)}"
            )
        category_order = {c: i for i, c in enumerate(wanted)}
        table = table[table["family"].map(_category_of).isin(wanted)]

    families = sorted(table["family"].unique(), key=lambda f: _family_key(f, category_order))
    sizes = sorted(table["size"].unique(), key=_size_key)
    cells = table.set_index(["family", "size"])
    z: list[list[float | None]] = []
    custom: list[list[list[int | None]]] = []
    text: list[list[str]] = []
    fields = ["max_pods", "enis_for_pods", "ipv4_per_eni", "pod_addresses", "raw_max_pods", "vcpus"]
    grid = {
        name: cells[name].unstack("size").reindex(index=families, columns=sizes).to_numpy(dtype="float64")
        for name in fields
    }
    unknown = 0
    for i in range(len(families)):
        z_row, c_row, t_row = [], [], []
        for j in range(len(sizes)):
            pods = grid["max_pods"][i, j]
            if np.isnan(pods) and not np.isnan(grid["enis_for_pods"][i, j]):  # a type whose max pods is <NA>
                unknown += 1
                z_row.append(None)
                c_row.append([_int(grid[name][i, j]) for name in fields])
                t_row.append("?")
            elif np.isnan(pods):
                z_row.append(None)
                c_row.append([None] * len(fields))
                t_row.append("")
            else:
                z_row.append(round(math.log10(max(pods, 1.0)), 4))
                c_row.append([_int(grid[name][i, j]) for name in fields])
                t_row.append(str(int(pods)))
        z.append(z_row)
        custom.append(c_row)
        text.append(t_row)

    pods = table["max_pods"].dropna()
    low, high = (int(pods.min()), int(pods.max())) if len(pods) else (1, 10)
    heatmap: dict[str, Any] = {
        "type": "heatmap",
        "x": sizes,
        "y": families,
        "z": z,
        "zmin": round(math.log10(max(low, 1)), 4),
        "zmax": round(math.log10(max(high, 2)), 4),
        "colorscale": _COLORSCALE,
        "colorbar": _log_colorbar(max(low, 1), max(high, 2), "max pods<br>(log scale)"),
        "customdata": custom,
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"size": 9},
        "hoverongaps": False,
        "xgap": 1,
        "ygap": 1,
        "hovertemplate": (
            "<b>%{y}.%{x}</b><br>max pods: %{customdata[0]}"
            "<br>ENIs used for pods: %{customdata[1]}<br>IPv4 addresses per ENI: %{customdata[2]}"
            "<br>pod addresses: %{customdata[3]}<br>raw (addresses + 2): %{customdata[4]}"
            "<br>vCPUs: %{customdata[5]}<extra></extra>"
        ),
    }
    # thin lines between categories, so the eye finds the m rows, the c rows ...
    shapes: list[dict[str, Any]] = []
    for i in range(1, len(families)):
        if _category_of(families[i]) != _category_of(families[i - 1]):
            shapes.append({
                "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": i - 0.5, "y1": i - 0.5,
                "line": {"color": "#444", "width": 1},
            })
    subtitle = (
        f"{mode}; {len(families)} families × {len(sizes)} sizes, {len(table):,} instance types; "
        "colour on a log scale; empty cell = no such size"
    )
    if unknown:
        subtitle += f"; ? = unknown ({unknown} types: needs vCPUs the VPC CNI's table lacks)"
    return figure([heatmap], {
        "title": {"text": "Max pods per instance type: families (rows) × sizes (columns)",
                  "subtitle": {"text": subtitle}},
        "template": TEMPLATE,
        "height": max(420, 18 * len(families) + 220),
        "margin": {"l": 110, "r": 40, "t": 170, "b": 40},
        **_if_any(shapes=shapes),
        "plot_bgcolor": "#f4f4f4",
        "xaxis": {"title": {"text": "size (natural order)"}, "side": "top", "tickangle": -45, "type": "category",
                  "automargin": True, "tickmode": "array", "tickvals": sizes, "ticktext": sizes},
        "yaxis": {"title": {"text": "instance family (by category, generation, name)"}, "type": "category",
                  "autorange": "reversed", "automargin": True, "tickmode": "array", "tickvals": families,
                  "ticktext": families, "tickfont": {"size": 11}},
    })


# ----------------------------------------------------------------------------- 2. ENIs x IPs scatter


def enis_vs_ips_figure(table: pd.DataFrame | None = None) -> go.Figure:
    """ENIs on card 0 against IPv4 addresses per ENI, one marker per distinct pair, with max-pods iso-lines.

    A marker's area grows with the number of instance types sharing the pair; its colour and hover give the
    standard max pods ``ENIs x (IPv4 per ENI - 1) + 2`` (header of aws/amazon-vpc-cni-k8s
    ``misc/eni-max-pods.txt``). Dashed curves join the pairs that give 17, 29, 110, 250 and 737 pods
    (:data:`ISO_MAX_PODS`; 110/250 are the ceilings of the former awslabs/amazon-eks-ami
    ``max-pods-calculator.sh``). Both axes are logarithmic.

    >>> fig = enis_vs_ips_figure()
    """
    table = capacity_table() if table is None else table
    standard = capacity_table(table)["max_pods"]  # standard mode, whatever settings ``table`` was made with
    frame = pd.DataFrame({
        "name": table.index.astype(str),
        "enis": table["enis"].to_numpy(),
        "ipv4": table["ipv4_per_eni"].to_numpy(),
        "standard": standard.to_numpy(),
    }).sort_values(["enis", "ipv4", "name"], kind="stable")
    groups = []
    for (enis, ipv4), part in frame.groupby(["enis", "ipv4"], sort=True):
        names = list(part["name"])
        examples = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        groups.append((int(enis), int(ipv4), len(names), int(part["standard"].iloc[0]), examples))
    enis = [g[0] for g in groups]
    ipv4 = [g[1] for g in groups]
    counts = [g[2] for g in groups]
    pods = [g[3] for g in groups]
    largest = max(counts) if counts else 1
    low, high = (min(pods), max(pods)) if pods else (4, 737)

    x_lo, x_hi = (min(enis), max(enis)) if enis else (1, 16)
    y_lo, y_hi = (min(ipv4), max(ipv4)) if ipv4 else (2, 50)
    x_range = [math.log10(x_lo) - 0.12, math.log10(x_hi) + 0.1]
    y_range = [math.log10(y_lo) - 0.1, math.log10(y_hi) + 0.15]
    data: list[dict[str, Any]] = []
    xs = np.geomspace(10 ** x_range[0], 10 ** x_range[1], 80)
    annotations: list[dict[str, Any]] = []
    for total, label in ISO_MAX_PODS.items():
        ys = (total - HOST_NETWORK_PODS) / xs + 1
        data.append({
            "type": "scatter", "x": [round(float(v), 4) for v in xs], "y": [round(float(v), 4) for v in ys],
            "mode": "lines", "name": f"{total} pods ({label})", "legendgroup": "iso",
            "legendgrouptitle": {"text": "ENIs × (IPs − 1) + 2 ="},
            "line": {"dash": "dash", "width": 1.2, "color": "#888"},
            "hovertemplate": f"ENIs × (IPs − 1) + 2 = {total}<br>({label})<extra></extra>",
        })
        # label each curve where it enters the plot at the top or the left edge
        top = 10 ** y_range[1]
        x_enter = max(10 ** x_range[0], (total - HOST_NETWORK_PODS) / (top - 1))
        y_enter = (total - HOST_NETWORK_PODS) / x_enter + 1
        if x_enter < 10 ** x_range[1]:
            annotations.append({
                "x": round(math.log10(x_enter), 4), "y": round(math.log10(min(y_enter, top)), 4),
                "text": f"{total}", "showarrow": False, "xanchor": "left", "yanchor": "top",
                "font": {"size": 11, "color": "#555"}, "xshift": 3,
            })
    data.append({
        "type": "scatter", "x": enis, "y": ipv4, "mode": "markers", "name": "instance types (area ∝ count)",
        "customdata": [[g[2], g[3], g[4]] for g in groups],
        "marker": {
            "size": counts, "sizemode": "area", "sizeref": 2.0 * largest / 45**2, "sizemin": 5,
            "color": [round(math.log10(p), 4) for p in pods], "colorscale": _COLORSCALE,
            "cmin": round(math.log10(low), 4), "cmax": round(math.log10(high), 4),
            "colorbar": _log_colorbar(low, high, "standard<br>max pods"),
            "line": {"width": 0.6, "color": "#333"}, "opacity": 0.85,
        },
        "hovertemplate": (
            "<b>%{x} ENIs × %{y} IPv4 per ENI</b><br>standard max pods: %{customdata[1]}"
            "<br>%{customdata[0]} instance types, e.g. %{customdata[2]}<extra></extra>"
        ),
    })
    if (3, 6) in set(zip(enis, ipv4)):
        annotations.append({
            "x": round(math.log10(3), 4), "y": round(math.log10(6), 4),
            "text": "t3.medium: 3 ENIs × (6 − 1) + 2 = 17", "showarrow": True, "arrowhead": 2,
            "ax": 60, "ay": 55, "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#333",
        })
    tick_x = sorted(set(enis))
    tick_y = sorted(set(ipv4))
    return figure(data, {
        "title": {"text": "Max pods is a product: ENIs on card 0 × (IPv4 addresses per ENI − 1) + 2",
                  "subtitle": {"text": f"{len(table):,} instance types in {len(groups)} distinct (ENIs, IPs) "
                                       "pairs; dashed: pairs with equal max pods"}},
        "template": TEMPLATE,
        "height": 620,
        "margin": {"l": 70, "r": 30, "t": 100, "b": 70},
        **_if_any(annotations=annotations),
        "legend": {"orientation": "h", "x": 0, "y": -0.14, "yanchor": "top"},
        "xaxis": {"type": "log", "range": x_range, "title": {"text": "ENIs on network card 0 (log scale)"},
                  "tickmode": "array", "tickvals": tick_x, "ticktext": [str(v) for v in tick_x]},
        "yaxis": {"type": "log", "range": y_range, "title": {"text": "IPv4 addresses per ENI (log scale)"},
                  "tickmode": "array", "tickvals": tick_y, "ticktext": [str(v) for v in tick_y]},
    })


# --------------------------------------------------------------------------------- 3. modes of a family


def _formula_text(row: pd.Series) -> str:
    """``3 ENIs × 9 slots × 16 + 2 = 434`` from one capacity-table row."""
    prefix = f" × {IPS_PER_PREFIX}" if bool(row["prefix_applied"]) else ""
    return (f"{int(row['enis_for_pods'])} ENIs × {int(row['slots_per_eni'])} slots{prefix} + "
            f"{HOST_NETWORK_PODS} = {int(row['raw_max_pods'])}")


def modes_figure(family: str, *, cni_version: str = DEFAULT_CNI_VERSION) -> go.Figure:
    """Grouped bars of max pods for every size of ``family``: standard, custom networking, prefix delegation.

    Values are raw (no ceiling); the dotted step marks the 110/250 ceiling (110 up to 30 vCPUs, else 250)
    that the former awslabs/amazon-eks-ami ``max-pods-calculator.sh`` printed by default. Prefix delegation
    counts only on Nitro and from CNI 1.9.0 (bars equal to standard otherwise). An unknown family raises
    :class:`ekslib.errors.EkslibError` naming close families. The y axis is logarithmic.

    >>> fig = modes_figure("m5", cni_version="1.23.1")
    """
    sizes = sizes_of(family)  # raises EkslibError with suggestions for an unknown family
    types = load_instance_types()
    types = types[types["family"] == family]
    order = [f"{family}.{size}" for size in sizes]
    tables = {key: capacity_table(types, cni_version=cni_version, **MODES[key]).loc[order]
              for key in ("standard", "custom networking", "prefix delegation", "prefix delegation + ceiling")}
    data: list[dict[str, Any]] = []
    for label, key, colour in _MODE_BARS:
        part = tables[key]
        notes = []
        for name, row in part.iterrows():
            note = _formula_text(row)
            if key == "prefix delegation" and not bool(row["prefix_applied"]):
                why = (f"CNI {cni_version} < 1.9.0" if row["hypervisor"] == "nitro"
                       else f"not Nitro (hypervisor {row['hypervisor'] or 'none: bare metal'})")
                note += f"<br>prefix delegation not applied: {why}"
            notes.append([str(name), note])
        pods = [int(v) for v in part["max_pods"]]
        data.append({
            "type": "bar", "x": sizes, "y": pods, "name": label,
            "marker": {"color": colour}, "customdata": notes, "text": [str(v) for v in pods],
            "textposition": "outside", "textfont": {"size": 10}, "cliponaxis": False,
            "hovertemplate": f"<b>%{{customdata[0]}}</b>: {label}<br>max pods: %{{y}}<br>= %{{customdata[1]}}"
                             "<extra></extra>",
        })
    ceiling = tables["prefix delegation + ceiling"]
    data.append({
        "type": "scatter", "x": sizes, "y": [_int(v) for v in ceiling["ceiling_value"]], "mode": "lines+markers",
        "name": f"{CEILING_LOW_CPU}/{CEILING_HIGH_CPU} ceiling ({_SOURCE_CALCULATOR})",
        "line": {"shape": "hvh", "dash": "dot", "color": "#d62728", "width": 2},
        "marker": {"symbol": "line-ew-open", "size": 34, "line": {"width": 3, "color": "#d62728"}},
        "customdata": [[str(n), _int(v), _int(p)] for n, v, p in
                       zip(ceiling.index, ceiling["vcpus"], ceiling["max_pods"], strict=True)],
        "hovertemplate": (
            "<b>%{customdata[0]}</b>: ceiling %{y} (%{customdata[1]} vCPUs; "
            f"{CEILING_LOW_CPU} up to {CEILING_CPU_THRESHOLD}, else {CEILING_HIGH_CPU})"
            "<br>the calculator printed %{customdata[2]} for prefix delegation<extra></extra>"
        ),
    })
    subtitle = ("bars: raw values (--show-max-allowed); dotted steps: the ceiling the former "
                "max-pods-calculator.sh applied by default")
    if ceiling["ceiling_value"].isna().any():
        subtitle += "; no step where the vCPU count is unknown (a type only the VPC CNI's table knows)"
    return figure(data, {
        "title": {"text": f"{family}: max pods per size in three VPC CNI modes (CNI {cni_version})",
                  "subtitle": {"text": subtitle}},
        "template": TEMPLATE,
        "barmode": "group",
        "bargap": 0.2,
        "height": 540,
        "margin": {"l": 70, "r": 30, "t": 100, "b": 60},
        "legend": {"orientation": "h", "x": 0, "y": -0.14, "yanchor": "top"},
        "xaxis": {"title": {"text": f"size of {family}"}, "type": "category", "categoryorder": "array",
                  "categoryarray": sizes},
        "yaxis": {"type": "log", "title": {"text": "max pods per node (log scale)"}},
    })


# ---------------------------------------------------------------------------------- 4. multi-card types


def multi_card_figure(table: pd.DataFrame | None = None) -> go.Figure:
    """Types with more than one network card: ENIs on card 0 (what the VPC CNI counts) against all ENIs.

    One row per type, sorted by total ENIs (largest at the top); hover gives the card count and the max pods,
    computed from card 0 only, as the header of aws/amazon-vpc-cni-k8s ``misc/eni-max-pods.txt`` says.
    ``table`` is a capacity table (default: standard mode); total ENIs come from the snapshot when the table
    has no ``enis_total`` column.

    >>> fig = multi_card_figure()
    """
    table = capacity_table() if table is None else table
    multi = table[table["network_cards"] > 1]
    if "enis_total" in multi:
        totals = multi["enis_total"]
    else:
        totals = load_instance_types()["enis_total"].reindex(multi.index)
        if totals.isna().any():
            missing = list(totals.index[totals.isna()][:3])
            raise EkslibError(f"no total ENI count for {missing}: pass a table with an 'enis_total' column")
    frame = pd.DataFrame({
        "name": multi.index.astype(str),
        "enis": multi["enis"].to_numpy(),
        "enis_total": totals.to_numpy().astype("int64"),
        "cards": multi["network_cards"].to_numpy(),
        "ipv4": multi["ipv4_per_eni"].to_numpy(),
        "max_pods": multi["max_pods"].to_numpy(),
    })
    # plotly draws the first category at the bottom: sort ascending so the largest totals end up on top
    frame = frame.sort_values(["enis_total", "enis", "name"], ascending=[True, True, False], kind="stable")
    names = list(frame["name"])
    custom = [[int(c), int(e), int(t), int(i), _int(p)] for c, e, t, i, p in
              frame[["cards", "enis", "enis_total", "ipv4", "max_pods"]].itertuples(index=False)]
    hover = ("<b>%{y}</b><br>network cards: %{customdata[0]}<br>ENIs on card 0: %{customdata[1]} "
             "of %{customdata[2]} on all cards<br>IPv4 per ENI: %{customdata[3]}"
             "<br>max pods (card 0 only): %{customdata[4]}<extra></extra>")
    data: list[dict[str, Any]] = [
        {"type": "bar", "y": names, "x": [int(v) for v in frame["enis_total"]], "orientation": "h",
         "name": "ENIs on all network cards", "marker": {"color": "#c7c7c7"}, "customdata": custom,
         "hovertemplate": hover,
         "text": [f"{e} of {t} → {'?' if p is None else p} pods" for _, e, t, _, p in custom],
         "textposition": "outside", "textfont": {"size": 10}, "cliponaxis": False},
        {"type": "bar", "y": names, "x": [int(v) for v in frame["enis"]], "orientation": "h",
         "name": "ENIs on card 0: the only ones the VPC CNI counts", "marker": {"color": "#1f77b4"},
         "customdata": custom, "hovertemplate": hover},
    ]
    if "p5.48xlarge" in names:
        example = frame[frame["name"] == "p5.48xlarge"].iloc[0]
    elif len(frame):
        example = frame.assign(gap=frame["enis_total"] - frame["enis"]).sort_values(
            ["gap", "name"], ascending=[False, True], kind="stable").iloc[0]
    else:
        example = None
    title = "Multi-card instance types: the VPC CNI counts only the default network card (card 0)"
    if example is not None:
        example_pods = _int(example["max_pods"])
        title += (f"<br>e.g. {example['name']}: {int(example['enis'])} of {int(example['enis_total'])} ENIs "
                  f"→ {'?' if example_pods is None else example_pods} pods")
    layout: dict[str, Any] = {
        "title": {"text": title, "subtitle": {"text": f"{len(frame)} types with more than one network card; "
                                                      f"rule: {_SOURCE_CARD0}"}},
        "template": TEMPLATE,
        "barmode": "overlay",
        "height": max(360, 16 * len(frame) + 240),
        "margin": {"l": 140, "r": 130, "t": 130, "b": 60},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "xaxis": {"title": {"text": "elastic network interfaces (ENIs)"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "instance type (by total ENIs)"}, "type": "category", "tickmode": "array",
                  "tickvals": names, "ticktext": names, "tickfont": {"size": 10}},
    }
    if not len(frame):
        layout["annotations"] = [{"text": "no instance type with more than one network card in this table",
                                  "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False}]
    return figure(data, layout)


# ------------------------------------------------------------------------------ 5. explanation waterfall


def explanation_figure(explanation: Explanation) -> go.Figure:
    """A small waterfall of one max-pods derivation: addresses, + 2 host-network pods, minus the ceiling cut.

    ``ENIs x slots (x 16 with prefix delegation) = pod addresses``; ``+ 2`` for aws-node and kube-proxy
    (header of aws/amazon-vpc-cni-k8s ``misc/eni-max-pods.txt``); then, if the 110/250 ceiling of the former
    awslabs/amazon-eks-ami ``max-pods-calculator.sh`` applies, its cut; the last bar is max pods.

    >>> from ekslib.capacity import explain_max_pods
    >>> fig = explanation_figure(explain_max_pods("m5.large", prefix_delegation=True, ceiling=True))
    """
    e = explanation
    prefix = f" × {e.addresses_per_slot}" if e.prefix_applied else ""
    labels: list[str] = []
    measures: list[str] = []
    values: list[int] = []
    notes: list[str] = []
    if e.settings.ipv6:
        labels.append("kubelet max-pods (IPv6)")
        measures.append("absolute")
        values.append(e.max_pods)
        notes.append("IPv6: one /80 on the primary ENI serves every pod; the kubelet limit "
                     f"({CEILING_LOW_CPU} up to {CEILING_CPU_THRESHOLD} vCPUs, else {CEILING_HIGH_CPU}) is the cap")
        labels.append("max pods")
        measures.append("total")
        values.append(e.max_pods)
        notes.append(e.formula)
    else:
        labels.append(f"{e.enis_for_pods} ENIs × {e.slots_per_eni} slots{prefix}")
        measures.append("absolute")
        values.append(e.pod_addresses)
        notes.append(f"pod addresses: {e.enis_for_pods} ENIs × ({e.ipv4_per_eni} − 1 primary) slots{prefix} "
                     f"= {e.pod_addresses}")
        labels.append(f"+ {e.host_network_pods} host-network pods")
        measures.append("relative")
        values.append(e.host_network_pods)
        notes.append("aws-node and kube-proxy run on the node's own address but count against max-pods")
        if e.ceiling_applied:
            labels.append("raw max pods")
            measures.append("total")
            values.append(e.raw_max_pods)
            notes.append(f"raw value (what --show-max-allowed printed): {e.raw_max_pods}")
            labels.append(f"ceiling {e.ceiling_value} cut")
            measures.append("relative")
            values.append(e.ceiling_value - e.raw_max_pods)
            notes.append(f"min({e.raw_max_pods}, {e.ceiling_value}): {e.vcpus} vCPUs "
                         f"({'>' if e.vcpus > CEILING_CPU_THRESHOLD else '<='} {CEILING_CPU_THRESHOLD}); "
                         f"{_SOURCE_CALCULATOR}")
        labels.append("max pods")
        measures.append("total")
        values.append(e.max_pods)
        notes.append(e.formula)
    waterfall: dict[str, Any] = {
        "type": "waterfall", "x": labels, "y": values, "measure": measures, "orientation": "v",
        "text": [f"{v:+d}" if m == "relative" else str(v) for v, m in zip(values, measures, strict=True)],
        "textposition": "outside", "cliponaxis": False,
        "customdata": notes,
        "hovertemplate": "<b>%{x}</b><br>%{customdata}<extra></extra>",
        "connector": {"line": {"color": "#999", "dash": "dot"}},
        "increasing": {"marker": {"color": "#2ca02c"}},
        "decreasing": {"marker": {"color": "#d62728"}},
        "totals": {"marker": {"color": "#1f77b4"}},
    }
    settings = [name for name, on in (("prefix delegation", e.settings.prefix_delegation),
                                      ("custom networking", e.settings.custom_networking),
                                      (f"MAX_ENI={e.settings.max_eni}", e.settings.max_eni is not None),
                                      ("ceiling", e.settings.ceiling), ("IPv6", e.settings.ipv6),
                                      ("security groups for pods", e.settings.security_groups_for_pods)) if on]
    return figure([waterfall], {
        "title": {"text": f"{e.instance_type}: max pods = {e.max_pods}",
                  "subtitle": {"text": f"{e.formula}  ·  " + (", ".join(settings) or "standard mode")
                                       + f", CNI {e.settings.cni_version}"}},
        "template": TEMPLATE,
        "height": 380,
        "margin": {"l": 60, "r": 30, "t": 90, "b": 50},
        "showlegend": False,
        "xaxis": {"type": "category"},
        "yaxis": {"title": {"text": "pods"}, "rangemode": "tozero"},
    })
