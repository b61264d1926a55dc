"""A thin GUI over :func:`ekslib.flows.scenario` and :mod:`ekslib.figures.flows`: choose a scenario and its
options, replay the packet, read its hops and conntrack entries.

>>> from ekslib.widgets.flows import FlowExplorer
>>> explorer = FlowExplorer("pod-to-internet")
>>> explorer.flow.delivered, explorer.subnet.disabled
(True, False)
>>> explorer.scenario.value = "pod-to-pod-same-node"   # takes no subnet: its control is disabled
>>> explorer.subnet.disabled, explorer.flow.translations
(True, ())
"""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as widgets

from ekslib.cluster.model import Cluster
from ekslib.figures.flows import conntrack_figure, flow_animation, hops_figure
from ekslib.flows.flow import Flow
from ekslib.flows.scenarios import SCENARIOS, scenario, scenario_cluster
from ekslib.flows.vpc import OUTSIDE_HOSTS
from ekslib.widgets.common import guarded, show_figure

__all__ = ["FlowExplorer", "CHOICE"]

#: The value of the source control that leaves the choice to the scenario.
CHOICE = ""


class FlowExplorer(widgets.VBox):
    """A scenario of :data:`ekslib.flows.SCENARIOS` and its options in; the packet's animation, hop table and
    conntrack table out.

    Options (each passed to :func:`ekslib.flows.scenario` as it is): source pod and destination (empty: the
    scenario's choice), subnet (private / public nodes), external SNAT, excluded CIDRs (comma-separated),
    source on a secondary ENI, the 0x80 connmark, the SNAT chains' layout, protocol and seed. A control the
    chosen scenario does not take is disabled (and so is "secondary ENI" once a source pod is chosen). ``flow``
    holds the latest :class:`~ekslib.flows.Flow` (None after bad input, when ``message`` says what is wrong);
    "replay" draws the animation again from its first frame. Pass ``cluster`` (e.g. your own, from
    :func:`ekslib.cluster.from_kubectl`) to trace in it instead of the scenarios' cluster.
    """

    def __init__(self, name: str = "pod-to-pod-cross-node", *, cluster: Cluster | None = None) -> None:
        self.given = cluster
        self.flow: Flow | None = None
        self._quiet = False
        wide = {"description_width": "initial"}
        self.scenario = widgets.Dropdown(options=list(SCENARIOS), value=name if name in SCENARIOS else None,
                                         description="scenario", layout=widgets.Layout(width="330px"))
        self.about = widgets.HTML()
        self.source = widgets.Dropdown(options=[("(the scenario's choice)", CHOICE)], value=CHOICE,
                                       description="source", layout=widgets.Layout(width="420px"))
        self.destination = widgets.Combobox(
            value="", placeholder="(the scenario's choice)", description="destination", ensure_option=False,
            continuous_update=False, layout=widgets.Layout(width="420px"),
            options=list(OUTSIDE_HOSTS) + ["peered-vpc"])
        self.subnet = widgets.ToggleButtons(options=[("private subnets", "private"), ("public subnets", "public")],
                                            value="private", description="nodes in", style=wide)
        self.external_snat = widgets.Checkbox(description="external SNAT (AWS_VPC_K8S_CNI_EXTERNALSNAT)",
                                              indent=False, layout=widgets.Layout(width="330px"))
        self.exclude_snat_cidrs = widgets.Text(
            value="", placeholder="e.g. 10.20.0.0/16", description="AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS",
            continuous_update=False, style=wide, layout=widgets.Layout(width="470px"))
        self.secondary_eni = widgets.Checkbox(description="source pod on a secondary ENI", indent=False,
                                              layout=widgets.Layout(width="230px"))
        self.connmark = widgets.Checkbox(value=True, description="0x80 connmark and rule 1024", indent=False,
                                         layout=widgets.Layout(width="230px"))
        self.chains = widgets.ToggleButtons(options=[("one SNAT chain (v1.16.2+)", "current"),
                                                     ("chain of chains (older)", "legacy")],
                                            value="current", description="iptables", style=wide)
        self.protocol = widgets.ToggleButtons(options=["tcp", "udp"], value="tcp", description="protocol",
                                              style=wide)
        self.seed = widgets.IntText(value=0, description="seed", layout=widgets.Layout(width="130px"), style=wide)
        self.replay = widgets.Button(description="▶ replay", tooltip="draw the animation again from its start")
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.animation = widgets.Output()
        self.hops = widgets.Output()
        self.conntrack = widgets.Output()
        #: scenario option -> its control (source, destination, protocol, seed and layout: every scenario's)
        self.options: dict[str, widgets.Widget] = {
            "subnet": self.subnet, "external_snat": self.external_snat, "exclude_snat_cidrs": self.exclude_snat_cidrs,
            "secondary_eni": self.secondary_eni, "connmark": self.connmark}
        super().__init__([
            widgets.HBox([self.scenario, self.about]),
            widgets.HBox([self.source, self.destination]),
            widgets.HBox([self.subnet, self.chains]),
            widgets.HBox([self.secondary_eni, self.connmark, self.external_snat]),
            widgets.HBox([self.exclude_snat_cidrs, self.protocol, self.seed, self.replay]),
            self.message, self.summary, self.animation, self.hops, self.conntrack,
        ])
        for control in (self.scenario, self.source, self.destination, self.chains, self.protocol, self.seed,
                        *self.options.values()):
            control.observe(lambda _change: self.update(), "value")
        self.replay.on_click(lambda _button: self.redraw())
        self.update()

    # -- the controls
    def cluster(self) -> Cluster:
        """The cluster traced: the one given, else the scenarios' cluster in the chosen subnets."""
        if self.given is not None:
            return self.given
        takes = self.scenario.value is not None and "subnet" in SCENARIOS[self.scenario.value][1]
        return scenario_cluster(self.subnet.value if takes else "private")

    def _refresh_controls(self) -> None:
        name = self.scenario.value
        allowed = SCENARIOS[name][1] if name in SCENARIOS else ()
        self.about.value = f"<i>{html.escape(SCENARIOS[name][2])}</i>" if name in SCENARIOS else ""
        for option, control in self.options.items():
            control.disabled = option not in allowed or (option == "subnet" and self.given is not None)
        if self.source.value != CHOICE:
            self.secondary_eni.disabled = True
        cluster = self.cluster()
        choices = [("(the scenario's choice)", CHOICE)] + [
            (f"{p.key}" + (" (host network)" if p.host_network else ""), p.key) for p in cluster.pods]
        if list(self.source.options) != choices:
            keep = self.source.value if self.source.value in {v for _, v in choices} else CHOICE
            self.source.options = choices
            self.source.value = keep
        self.destination.options = list(OUTSIDE_HOSTS) + ["peered-vpc"] + [p.key for p in cluster.pods] + [
            n.name for n in cluster.nodes]

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`ekslib.flows.scenario` that the enabled controls say."""
        values: dict[str, Any] = {
            "subnet": self.subnet.value, "external_snat": self.external_snat.value,
            "exclude_snat_cidrs": [c for c in re.split(r"[,\s]+", self.exclude_snat_cidrs.value) if c],
            "secondary_eni": self.secondary_eni.value, "connmark": self.connmark.value}
        kwargs = {k: v for k, v in values.items() if not self.options[k].disabled}
        kwargs.update(protocol=self.protocol.value, seed=self.seed.value, layout=self.chains.value)
        if self.given is not None:
            kwargs["cluster"] = self.given
        if self.source.value != CHOICE:
            kwargs["source"] = self.source.value
        if self.destination.value.strip():
            kwargs["destination"] = self.destination.value.strip()
        return kwargs

    # -- tracing and drawing
    def update(self) -> None:
        """Trace the scenario the controls describe and draw it; bad input becomes a message."""
        if self._quiet:
            return
        self._quiet = True
        try:
            guarded(self.message, self._refresh_controls)
        finally:
            self._quiet = False
        if self.scenario.value is None:
            self.flow = None
        else:
            self.flow = guarded(self.message, lambda: scenario(self.scenario.value, **self.arguments()))
        if self.flow is None:
            self.summary.value = ""
            for output in (self.animation, self.hops, self.conntrack):
                output.outputs = ()
            return
        self.summary.value = f"<b>{html.escape(self.flow.summary())}</b>"
        self.redraw()

    def redraw(self) -> None:
        """Draw the latest flow again: the animation (from its first frame), the hop and conntrack tables."""
        flow = self.flow
        if flow is None:
            return
        figures = guarded(self.message, lambda: (flow_animation(flow), hops_figure(flow), conntrack_figure(flow)))
        if figures is None:
            return
        for output, figure in zip((self.animation, self.hops, self.conntrack), figures, strict=True):
            show_figure(output, figure)
