"""A thin GUI over :func:`ekslib.flows.scenario` and :mod:`ekslib.figures.flows`: choose a scenario and its
options, replay the packet, read its hops and conntrack entries, the load balancer's health checks and whether
the client accepts the reply.

>>> from ekslib.widgets.flows import FlowExplorer
>>> explorer = FlowExplorer("pod-to-internet")
>>> explorer.flow.delivered, explorer.subnet.disabled
(True, False)
>>> explorer.scenario.value = "pod-to-pod-same-node"   # takes no subnet: its control is disabled
>>> explorer.subnet.disabled, explorer.flow.translations
(True, ())
>>> explorer.scenario.value = "loadbalancer"          # an NLB in front, in public subnets, Local
>>> explorer.subnet.value, explorer.external_traffic_policy.value, explorer.hairpin.disabled
('public', 'Local', False)
>>> explorer.hairpin.value = True                     # a pod calls its own NLB: the reply is not accepted
>>> explorer.flow.reply_accepted, "times out" in explorer.verdict.value
(False, True)
"""

from __future__ import annotations

import html
import re
from typing import Any

import ipywidgets as widgets

from ekslib.cluster.model import Cluster
from ekslib.figures.flows import COLOURS, conntrack_figure, flow_animation, health_checks, hops_figure
from ekslib.flows.flow import Flow
from ekslib.flows.scenarios import (
    SCENARIO_DEFAULTS,
    SCENARIOS,
    SERVICE_SCENARIOS,
    scenario,
    scenario_cluster,
    service_cluster,
)
from ekslib.flows.vpc import OUTSIDE_HOSTS
from ekslib.widgets.common import guarded, show_figure

__all__ = ["CHOICE", "DEFAULTS", "FlowExplorer", "notes_html", "verdict_html"]

#: The value of the source control that leaves the choice to the scenario.
CHOICE = ""
#: The option values a scenario runs with when it is not given them (one home: ``ekslib.flows.scenarios``); the
#: explorer sets its controls to them when the scenario changes.
DEFAULTS = SCENARIO_DEFAULTS
_PRESERVE = {"default": None, "on": True, "off": False}


class FlowExplorer(widgets.VBox):
    """A scenario of :data:`ekslib.flows.SCENARIOS` and its options in; the packet's animation, hop table and
    conntrack table out.

    Options (each passed to :func:`ekslib.flows.scenario` as it is): source pod and destination (empty: the
    scenario's choice), subnet (private / public nodes), external SNAT, excluded CIDRs (comma-separated),
    source on a secondary ENI, the 0x80 connmark, the SNAT chains' layout, protocol and seed; for the Services
    scenarios: externalTrafficPolicy, whether the node reached has a local endpoint, the load balancer's kind (an
    NLB of the AWS Load Balancer Controller, or the in-tree Classic Load Balancer), the NLB's target type and
    client IP preservation ("default": by target type and protocol), the hairpin (a pod to its own Service) and a
    host-network source. A control the chosen scenario does not take is disabled (and so are "secondary ENI"
    once a source pod is chosen, and the NLB's target type and client IP preservation for a CLB); choosing a
    scenario sets subnet and externalTrafficPolicy to its defaults (:data:`DEFAULTS`). ``flow`` holds the latest
    :class:`~ekslib.flows.Flow` (None after bad input, when ``message`` says what is wrong); ``notes`` lists its
    load balancer's health checks (``Flow.notes``), ``verdict`` whether the client accepts the reply
    (``Flow.reply_accepted``); "replay" draws the animation again from its first frame. Pass ``cluster`` (e.g.
    your own, from :func:`ekslib.cluster.from_kubectl`) to trace in it instead of the scenarios' cluster.
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
        self.external_traffic_policy = widgets.ToggleButtons(options=["Cluster", "Local"], value="Cluster",
                                                             description="externalTrafficPolicy", style=wide)
        self.local_endpoint = widgets.Checkbox(value=True, description="the node reached has a local endpoint",
                                               indent=False, layout=widgets.Layout(width="280px"))
        self.kind = widgets.ToggleButtons(options=[("NLB", "nlb"), ("Classic (CLB)", "clb")], value="nlb",
                                          description="load balancer", style=wide)
        self.target_type = widgets.ToggleButtons(options=["instance", "ip"], value="instance",
                                                 description="NLB targets", style=wide)
        self.preserve_client_ip = widgets.ToggleButtons(options=list(_PRESERVE), value="default",
                                                        description="client IP preservation", style=wide)
        self.hairpin = widgets.Checkbox(description="hairpin: a pod to its own Service", indent=False,
                                        layout=widgets.Layout(width="260px"))
        self.host_network = widgets.Checkbox(description="from the host network", indent=False,
                                             layout=widgets.Layout(width="200px"))
        self.seed = widgets.IntText(value=0, description="seed", layout=widgets.Layout(width="130px"), style=wide)
        self.replay = widgets.Button(description="▶ replay", tooltip="draw the animation again from its start")
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.verdict = widgets.HTML()
        self.notes = widgets.HTML()
        self.animation = widgets.Output()
        self.hops = widgets.Output()
        self.conntrack = widgets.Output()
        #: the three views of a flow, one tab each; only the tab in view is drawn (a figure takes 0.1-0.2 s)
        self.views = widgets.Tab(children=[self.animation, self.hops, self.conntrack],
                                 titles=("the packet, hop by hop", "every hop (table)", "conntrack entries"))
        self._stale: set[int] = set()
        #: scenario option -> its control (source, destination, protocol, seed and layout: every scenario's)
        self.options: dict[str, widgets.Widget] = {
            "subnet": self.subnet, "external_snat": self.external_snat, "exclude_snat_cidrs": self.exclude_snat_cidrs,
            "secondary_eni": self.secondary_eni, "connmark": self.connmark,
            "external_traffic_policy": self.external_traffic_policy, "local_endpoint": self.local_endpoint,
            "kind": self.kind, "target_type": self.target_type, "preserve_client_ip": self.preserve_client_ip,
            "hairpin": self.hairpin, "host_network": self.host_network}
        self._shown: str | None = None  # the scenario whose defaults the controls show
        super().__init__([
            widgets.HBox([self.scenario, self.about]),
            widgets.HBox([self.source, self.destination]),
            widgets.HBox([self.subnet, self.chains]),
            widgets.HBox([self.secondary_eni, self.connmark, self.external_snat]),
            widgets.HBox([self.exclude_snat_cidrs, self.protocol, self.seed, self.replay]),
            widgets.HBox([self.external_traffic_policy, self.local_endpoint]),
            widgets.HBox([self.kind, self.target_type]),
            widgets.HBox([self.preserve_client_ip, self.hairpin, self.host_network]),
            self.message, self.summary, self.verdict, self.notes, self.views,
        ])
        for control in (self.scenario, self.source, self.destination, self.chains, self.protocol, self.seed,
                        *self.options.values()):
            control.observe(lambda _change: self.update(), "value")
        self.replay.on_click(lambda _button: self.redraw())
        self.views.observe(lambda _change: self._draw_view(), "selected_index")
        self.update()

    # -- the controls
    def cluster(self) -> Cluster:
        """The cluster traced: the one given, else the scenarios' cluster in the chosen subnets."""
        if self.given is not None:
            return self.given
        name = self.scenario.value
        takes = name is not None and "subnet" in SCENARIOS[name][1]
        if name in SERVICE_SCENARIOS:
            return service_cluster(self.subnet.value if takes else "public")
        return scenario_cluster(self.subnet.value if takes else "private")

    def _refresh_controls(self) -> None:
        name = self.scenario.value
        allowed = SCENARIOS[name][1] if name in SCENARIOS else ()
        self.about.value = f"<i>{html.escape(SCENARIOS[name][2])}</i>" if name in SCENARIOS else ""
        if name != self._shown:  # a new scenario: its defaults
            self._shown = name
            defaults = {"subnet": "private", "external_traffic_policy": "Cluster", **DEFAULTS.get(name, {})}
            for option, value in defaults.items():
                self.options[option].value = value
        for option, control in self.options.items():
            control.disabled = option not in allowed or (option == "subnet" and self.given is not None)
        if self.source.value != CHOICE:
            self.secondary_eni.disabled = True
        if self.kind.value == "clb":  # a Classic Load Balancer has neither target types nor the attribute
            self.target_type.disabled = self.preserve_client_ip.disabled = True
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
            "secondary_eni": self.secondary_eni.value, "connmark": self.connmark.value,
            "external_traffic_policy": self.external_traffic_policy.value, "local_endpoint": self.local_endpoint.value,
            "kind": self.kind.value, "target_type": self.target_type.value,
            "preserve_client_ip": _PRESERVE[self.preserve_client_ip.value], "hairpin": self.hairpin.value,
            "host_network": self.host_network.value}
        kwargs = {k: v for k, v in values.items() if not self.options[k].disabled and v is not None}
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
            self.summary.value = self.verdict.value = self.notes.value = ""
            for output in (self.animation, self.hops, self.conntrack):
                output.outputs = ()
            return
        self.summary.value = f"<b>{html.escape(self.flow.summary())}</b>"
        self.verdict.value = verdict_html(self.flow)
        self.notes.value = notes_html(self.flow)
        self.redraw()

    def redraw(self) -> None:
        """Draw the latest flow again in the tab in view (the animation from its first frame, the hop table or
        the conntrack table); the other tabs are drawn when they come into view."""
        if self.flow is None:
            return
        self._stale = {0, 1, 2}
        self._draw_view()

    def _draw_view(self) -> None:
        index = self.views.selected_index or 0
        flow = self.flow
        if flow is None or index not in self._stale:
            return
        draw = (flow_animation, hops_figure, conntrack_figure)[index]
        figure = guarded(self.message, lambda: draw(flow))
        if figure is not None:
            show_figure(self.views.children[index], figure)
            self._stale.discard(index)


def verdict_html(flow: Flow) -> str:
    """Whether the client gets its answer: no reply, the reply dropped (and why), the reply refused (it comes
    from another address than the one the client connected to: the connection times out), or accepted."""
    def line(text: str, colour: str) -> str:
        return f'<div style="color:{colour}">{text}</div>'

    if flow.reply is None:
        return line("No reply: the request never reached a receiver.", COLOURS["drop"])
    if not flow.reply.delivered:
        return line(f"The reply is dropped ({html.escape(flow.reply.drop_reason)}): the connection times out.",
                    COLOURS["drop"])
    if not flow.reply_accepted:
        return line(f"The reply arrives from {flow.reply.seen_source}, but the client connected to "
                    f"{flow.hops[0].dst}: <b>the client drops it: the connection times out</b>.", COLOURS["drop"])
    return line(f"The client accepts the reply: it comes from {flow.reply.seen_source}, the address it connected to.",
                COLOURS["reply"])


def notes_html(flow: Flow) -> str:
    """``flow.notes`` as HTML: the load balancers' health checks as a small table (each answer green when
    healthy, red when not), other notes as a list; empty when the flow has none."""
    checks = health_checks(flow)
    out = ""
    if checks:
        balancers = list(dict.fromkeys(c.load_balancer for c in checks))
        one = len(balancers) == 1
        rows = []
        for c in checks:
            colour = {True: COLOURS["healthy"], False: COLOURS["unhealthy"]}.get(c.healthy, "#444444")
            rows.append("<tr>" + ("" if one else f"<td>{html.escape(c.load_balancer)}</td>")
                        + f"<td>{html.escape(c.target)}</td><td>{html.escape(c.check)}</td>"
                        f"<td style=\"color:{colour}\"><b>{html.escape(c.answer or '-')}</b></td></tr>")
        out += (f"<b>Health checks{' of ' + html.escape(balancers[0]) if one else ''}</b> (new connections go only "
                "to targets that pass)<table><tr>" + ("" if one else "<th>load balancer</th>")
                + "<th>target</th><th>check</th><th>answer</th></tr>" + "".join(rows) + "</table>")
    others = [n for n in flow.notes if " health check of " not in n]
    if others:
        out += "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in others) + "</ul>"
    return out
