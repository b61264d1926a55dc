"""The pod-capacity figures: each returns a plain go.Figure whose data carry the model's numbers."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from ekslib.capacity import capacity_table, explain_max_pods
from ekslib.errors import EkslibError
from ekslib.figures import capacity as figures

#: len(fig.to_json()) budget of the all-types figures (bytes of JSON).
JSON_BUDGET = 1_500_000

BUILDERS = {
    "heatmap": lambda: figures.max_pods_by_family_figure(),
    "heatmap m/c/r/t": lambda: figures.max_pods_by_family_figure(categories=["m", "c", "r", "t"]),
    "enis vs ips": lambda: figures.enis_vs_ips_figure(),
    "modes m5": lambda: figures.modes_figure("m5"),
    "multi card": lambda: figures.multi_card_figure(),
    "explanation": lambda: figures.explanation_figure(explain_max_pods("t3.medium")),
}


def _trace(fig: go.Figure, name: str):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def _waterfall_result(fig: go.Figure) -> int:
    """Replay a waterfall's measures: the running value at its last bar."""
    trace = fig.data[0]
    running = 0
    for measure, value in zip(trace.measure, trace.y, strict=True):
        if measure == "absolute":
            running = value
        elif measure == "relative":
            running += value
        else:  # "total": plotly shows the running sum, whatever y says
            assert value == running
    return running


@pytest.mark.parametrize("name", BUILDERS)
def test_figures_are_plain_deterministic_and_light(name):
    first, second = BUILDERS[name](), BUILDERS[name]()
    assert type(first) is go.Figure  # not a FigureWidget
    text = first.to_json()
    assert text == second.to_json()
    assert len(text) < JSON_BUDGET
    assert first.layout.title.text


def test_heatmap_cell_of_t3_medium_holds_17():
    fig = figures.max_pods_by_family_figure()
    heat = fig.data[0]
    row, col = list(heat.y).index("t3"), list(heat.x).index("medium")
    max_pods, enis, ipv4 = heat.customdata[row][col][:3]
    assert (max_pods, enis, ipv4) == (17, 3, 6)
    assert heat.text[row][col] == "17"
    assert heat.z[row][col] == pytest.approx(math.log10(17), abs=1e-4)
    assert "%{y}.%{x}" in heat.hovertemplate  # the hover names the instance type


def test_heatmap_covers_every_type_once():
    table = capacity_table()
    heat = figures.max_pods_by_family_figure(table).data[0]
    filled = [(f, s) for i, f in enumerate(heat.y) for j, s in enumerate(heat.x)
              if heat.customdata[i][j][0] is not None]
    assert len(filled) == len(table)
    assert all(heat.customdata[heat.y.index(f)][heat.x.index(s)][0] == table.loc[f"{f}.{s}", "max_pods"]
               for f, s in filled[::50])


def test_heatmap_orders_families_and_sizes_for_reading():
    fig = figures.max_pods_by_family_figure(categories=["m", "t"])
    families, sizes = list(fig.data[0].y), list(fig.data[0].x)
    assert families[: families.index("m5zn") + 1][-7:] == ["m5", "m5a", "m5ad", "m5d", "m5dn", "m5n", "m5zn"]
    assert families.index("m9gd") < families.index("t1")  # the given category order: m first, then t
    assert {f[0] for f in families} == {"m", "t"}
    assert sizes.index("nano") < sizes.index("large") < sizes.index("2xlarge") < sizes.index("24xlarge") \
        < sizes.index("metal")
    taller = figures.max_pods_by_family_figure()
    assert taller.layout.height > fig.layout.height  # more families, taller figure


def test_heatmap_colorbar_shows_real_numbers_on_a_log_scale():
    bar = figures.max_pods_by_family_figure().data[0].colorbar
    labels = list(bar.ticktext)
    assert {"4", "10", "110", "250", "737"} <= set(labels)
    for label, value in zip(labels, bar.tickvals, strict=True):
        assert value == pytest.approx(math.log10(int(label.replace(",", ""))), abs=1e-4)


def test_heatmap_unknown_category_raises_with_suggestion():
    with pytest.raises(EkslibError, match="did you mean m"):
        figures.max_pods_by_family_figure(categories=["mm"])


def test_enis_vs_ips_marks_t3_medium_and_draws_iso_lines():
    fig = figures.enis_vs_ips_figure()
    points = _trace(fig, "instance types (area ∝ count)")
    pairs = list(zip(points.x, points.y, strict=True))
    count, pods, examples = points.customdata[pairs.index((3, 6))]
    assert pods == 17 and "t3.medium" in examples
    assert sum(c for c, _, _ in points.customdata) == len(capacity_table())
    iso = [t for t in fig.data if t.legendgroup == "iso"]
    assert [int(t.name.split()[0]) for t in iso] == [17, 29, 110, 250, 737]
    for line in iso:  # every point of an iso-line gives the same max pods
        total = int(line.name.split()[0])
        assert all(x * (y - 1) + 2 == pytest.approx(total, rel=1e-3) for x, y in zip(line.x, line.y, strict=True))
    assert any("t3.medium" in a.text and "17" in a.text for a in fig.layout.annotations)
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"


def test_modes_figure_m5_large():
    fig = figures.modes_figure("m5")
    at = list(fig.data[0].x).index("large")
    values = {name: _trace(fig, name).y[at] for name in ("standard", "custom networking", "prefix delegation (raw)")}
    assert values == {"standard": 29, "custom networking": 20, "prefix delegation (raw)": 434}
    ceiling = next(t for t in fig.data if "ceiling" in t.name)
    by_size = dict(zip(ceiling.x, ceiling.y, strict=True))
    assert by_size["large"] == 110 and by_size["24xlarge"] == 250  # 2 vCPUs vs 96 vCPUs
    assert list(fig.data[0].x)[0] == "large" and list(fig.data[0].x)[-1] == "metal"
    assert fig.layout.yaxis.type == "log"


def test_modes_figure_old_cni_has_no_prefix_gain():
    fig = figures.modes_figure("m5", cni_version="1.8.0")
    assert list(_trace(fig, "prefix delegation (raw)").y) == list(_trace(fig, "standard").y)


def test_modes_figure_unknown_family_suggests_close_ones():
    with pytest.raises(EkslibError, match=r"unknown instance family 'm55'.*did you mean.*m5"):
        figures.modes_figure("m55")


def test_multi_card_figure_counts_card_zero_only():
    fig = figures.multi_card_figure()
    total = _trace(fig, "ENIs on all network cards")
    card0 = _trace(fig, "ENIs on card 0: the only ones the VPC CNI counts")
    at = list(total.y).index("p5.48xlarge")
    assert (card0.x[at], total.x[at]) == (2, 64)
    cards, enis, enis_total, ipv4, max_pods = total.customdata[at]
    assert (cards, enis, enis_total, ipv4, max_pods) == (32, 2, 64, 50, 100)
    assert "p5.48xlarge: 2 of 64 ENIs → 100 pods" in fig.layout.title.text
    table = capacity_table()
    assert set(total.y) == set(table.index[table["network_cards"] > 1])
    assert list(total.x) == sorted(total.x)  # sorted by total ENIs


def test_explanation_figure_ends_at_max_pods():
    plain = explain_max_pods("t3.medium")
    fig = figures.explanation_figure(plain)
    assert _waterfall_result(fig) == plain.max_pods == 17
    assert list(fig.data[0].y[:2]) == [15, 2]
    assert fig.layout.title.text == "t3.medium: max pods = 17"

    capped = explain_max_pods("m5.large", prefix_delegation=True, ceiling=True)
    fig = figures.explanation_figure(capped)
    assert _waterfall_result(fig) == capped.max_pods == 110
    assert list(fig.data[0].y) == [432, 2, 434, -324, 110]
    assert fig.layout.title.text == "m5.large: max pods = 110"


# --- types only the VPC CNI's table knows (no vCPUs): no figure breaks, unknown values stay unknown ------------


def test_modes_figure_of_a_family_without_vcpus():
    fig = figures.modes_figure("p3")
    assert list(_trace(fig, "standard").y) == [58, 234, 234]  # p3.2xlarge, p3.8xlarge, p3.16xlarge
    ceiling = next(t for t in fig.data if "ceiling" in t.name)
    assert list(ceiling.y) == [None, None, None]
    assert "vCPU count is unknown" in fig.layout.title.subtitle.text
    fig.to_json()


def test_heatmap_marks_unknown_cells_with_a_question_mark():
    table = capacity_table(ceiling=True)
    heat = figures.max_pods_by_family_figure(table).data[0]
    row, col = list(heat.y).index("p3"), list(heat.x).index("16xlarge")
    assert heat.text[row][col] == "?" and heat.z[row][col] is None
    assert heat.customdata[row][col][0] is None and heat.customdata[row][col][4] == 234
    assert heat.text[row][list(heat.x).index("2xlarge")] == "58"


def test_multi_card_figure_with_unknown_values():
    fig = figures.multi_card_figure(capacity_table(ceiling=True))
    fig.to_json()
    assert "→ 100 pods" in fig.layout.title.text  # p5.48xlarge under the ceiling: 100 <= 250
