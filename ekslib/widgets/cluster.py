"""A thin GUI over :mod:`ekslib.cluster` and :mod:`ekslib.figures.cluster`: build a cluster, see it, pick a
node or pod to highlight its ENI and addresses.

>>> from ekslib.widgets.cluster import ClusterExplorer
>>> explorer = ClusterExplorer()
>>> len(explorer.cluster.nodes), explorer.message.value
(2, '')
>>> explorer.count_b.value = 1          # add an m5.large
>>> [n.instance_type for n in explorer.cluster.nodes]
['t3.medium', 't3.medium', 'm5.large']
"""

from __future__ import annotations

import dataclasses
import html

import ipywidgets as widgets

from ekslib.cluster.build import build_cluster
from ekslib.cluster.kubectl import load_sample
from ekslib.cluster.model import Cluster
from ekslib.cluster.spec import DEFAULT_WORKLOADS, NodeGroup, Workload
from ekslib.figures.cluster import DETAIL_LIMIT, cluster_figure, selection_table
from ekslib.sources.kube import sample_names
from ekslib.widgets.common import guarded, show_figure

__all__ = ["ClusterExplorer", "BUILD", "GIVEN", "SELECT_PODS"]

#: ``source`` values: build from the controls, or the cluster passed in (else a sample's name).
BUILD, GIVEN = "build", "given"
#: Pods offered in the highlight list (all nodes always are; pick a node first in a bigger cluster).
SELECT_PODS = 300


class ClusterExplorer(widgets.VBox):
    """Node groups, workloads and VPC CNI mode in; the cluster figure, a highlight and its addresses out.

    ``cluster`` holds the latest :class:`~ekslib.cluster.Cluster` (None after bad input, when ``message``
    says what is wrong). Building is :func:`ekslib.cluster.build_cluster`'s, drawing
    :func:`ekslib.figures.cluster.cluster_figure`'s, the listing :func:`~ekslib.figures.cluster.selection_table`'s.
    Pass ``cluster`` (e.g. your own, from :func:`ekslib.cluster.from_kubectl`) to explore it instead.
    """

    def __init__(self, cluster: Cluster | None = None, *, seed: int = 0) -> None:
        self.given = cluster
        self.cluster: Cluster | None = None
        self._quiet = False
        sources = [("build from the controls", BUILD)] + [(f"sample: {n}", n) for n in sample_names()]
        if cluster is not None:
            sources.append((f"the cluster given ({cluster.name})", GIVEN))
        self.source = widgets.Dropdown(options=sources, value=GIVEN if cluster is not None else BUILD,
                                       description="cluster")
        initial = {"description_width": "initial"}
        text = {"continuous_update": False, "layout": widgets.Layout(width="230px"), "style": initial}
        count = {"layout": widgets.Layout(width="130px"), "style": initial}
        self.type_a = widgets.Text(value="t3.medium", description="node group 1", **text)
        self.count_a = widgets.IntText(value=2, description="nodes", **count)
        self.type_b = widgets.Text(value="m5.large", description="node group 2", **text)
        self.count_b = widgets.IntText(value=0, description="nodes", **count)
        defaults = {w.name: w for w in DEFAULT_WORKLOADS}
        self.web = widgets.IntText(value=defaults["web"].replicas, description="web", **count)
        self.api = widgets.IntText(value=defaults["api"].replicas, description="api", **count)
        self.app = widgets.IntText(value=0, description="app", **count)
        self.prefix_delegation = widgets.Checkbox(description="prefix delegation", indent=False)
        self.seed = widgets.IntText(value=seed, description="seed", **count)
        self.color_by = widgets.ToggleButtons(options=[("colour by ENI", "eni"), ("by namespace", "namespace")],
                                              value="eni")
        self.select = widgets.Dropdown(options=[("(nothing)", "")], value="", description="highlight",
                                       layout=widgets.Layout(width="520px"))
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.listing = widgets.HTML()
        self.chart = widgets.Output()
        self.build_controls = [self.type_a, self.count_a, self.type_b, self.count_b, self.web, self.api, self.app,
                               self.prefix_delegation, self.seed]
        super().__init__([
            self.source,
            widgets.HBox([self.type_a, self.count_a, self.type_b, self.count_b]),
            widgets.HBox([widgets.Label("replicas:"), self.web, self.api, self.app, self.prefix_delegation,
                          self.seed]),
            widgets.HBox([self.color_by, self.select]),
            self.message, self.summary, self.chart, self.listing,
        ])
        for control in [self.source, *self.build_controls]:
            control.observe(lambda _change: self.rebuild(), "value")
        for control in (self.color_by, self.select):
            control.observe(lambda _change: self.redraw(), "value")
        self.rebuild()

    def _make(self) -> Cluster:
        """The cluster the controls describe (the model validates every value)."""
        if self.source.value == GIVEN and self.given is not None:
            return self.given
        if self.source.value != BUILD:
            return load_sample(self.source.value)
        defaults = {w.name: w for w in DEFAULT_WORKLOADS}
        workloads: list[Workload] = [dataclasses.replace(defaults["web"], replicas=self.web.value),
                                     dataclasses.replace(defaults["api"], replicas=self.api.value)]
        if self.app.value:
            workloads.append(Workload("app", self.app.value))
        groups = [NodeGroup(self.type_a.value.strip(), self.count_a.value, name="group-1"),
                  NodeGroup(self.type_b.value.strip(), self.count_b.value, name="group-2")]
        return build_cluster(groups, workloads=workloads, prefix_delegation=self.prefix_delegation.value,
                             seed=self.seed.value, name="explorer")

    def rebuild(self) -> None:
        """Make the cluster from the controls (or the chosen sample) and redraw; bad input becomes a message."""
        for control in self.build_controls:
            control.disabled = self.source.value != BUILD
        self.cluster = guarded(self.message, self._make)
        if self.cluster is None:
            self.summary.value = self.listing.value = ""
            self.chart.outputs = ()
            return
        c = self.cluster
        options = [("(nothing)", "")] + [(f"node {n.name} ({n.instance_type})", n.name) for n in c.nodes]
        options += [(f"pod {p.key}" + (" (host network)" if p.host_network else ""), p.key)
                    for p in c.pods[:SELECT_PODS]]
        keep = self.select.value if self.select.value in {v for _, v in options} else ""
        self._quiet = True
        try:
            self.select.options = options
            self.select.value = keep
        finally:
            self._quiet = False
        counts = c.summary()
        notes = "".join(f"<br><i>{html.escape(n)}</i>" for n in c.notes)
        more = (f" · more than {DETAIL_LIMIT} pods: one marker per ENI; highlight a node to see its pods"
                if counts["pods"] > DETAIL_LIMIT else "")
        self.summary.value = (f"<b>{html.escape(c.name)}</b>: {counts['nodes']} nodes, {counts['enis']} ENIs, "
                              f"{counts['pods']} pods ({counts['host-network pods']} on the host network), "
                              f"{counts['services']} services{more}{notes}")
        self.redraw()

    def redraw(self) -> None:
        """Draw the cluster with the chosen colouring and highlight, and list what is highlighted."""
        if self._quiet or self.cluster is None:
            return
        cluster, target = self.cluster, self.select.value or None
        figure = guarded(self.message, lambda: cluster_figure(cluster, color_by=self.color_by.value, highlight=target))
        if figure is None:
            return
        show_figure(self.chart, figure)
        if target is None:
            self.listing.value = ""
            return
        table = selection_table(cluster, target)
        self.listing.value = table.to_html(index=False, border=0, classes="ekslib-selection")
