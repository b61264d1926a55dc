"""A thin GUI over :mod:`ekslib.ipam`: choose an instance type, the mode and ipamd's targets, drive the pod count,
see the pool once it settles.

>>> from ekslib.widgets.ipam import PoolExplorer
>>> explorer = PoolExplorer("t3.medium", pods=1)
>>> explorer.state.enis, explorer.state.ips, explorer.state.unused
(2, 10, 9)
>>> explorer.warm_ip_target.value = 1
>>> explorer.state.enis, explorer.state.ips, explorer.state.unused
(1, 2, 1)
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ekslib.figures.ipam import pool_figure, settings_label
from ekslib.ipam.settings import PoolSettings, node_limits
from ekslib.ipam.steady import PoolState, steady_state
from ekslib.sources.instance_types import instance_type_info
from ekslib.widgets.common import guarded, show_figure

#: The mode toggle: (label, prefix_delegation).
MODES = (("secondary IP", False), ("prefix (/28)", True))


class PoolExplorer(widgets.VBox):
    """Instance type, mode, WARM_ENI/IP/PREFIX targets, MINIMUM_IP_TARGET, MAX_ENI and a pod-count slider; the
    steady-state pool (ENIs, per-ENI split, unused addresses) in words and as a grid of ENI slots.

    Integer boxes hold the aws-node values: 0 (or less) leaves WARM_IP_TARGET, MINIMUM_IP_TARGET and MAX_ENI
    unset, as ipamd reads them. ``state`` holds the latest :class:`~ekslib.ipam.PoolState` (None after bad
    input or a combination ipamd refuses, when ``message`` says why). All computing is done by
    :func:`ekslib.ipam.steady_state`; the slider's end follows :func:`ekslib.ipam.node_limits`.
    """

    def __init__(self, instance_type: str = "t3.medium", *, pods: int = 1) -> None:
        start = instance_type_info(instance_type)
        self.state: PoolState | None = None
        self._busy = False
        self.instance_type = widgets.Text(value=start.instance_type, description="type", continuous_update=False,
                                          placeholder="e.g. m5.large")
        self.mode = widgets.ToggleButtons(options=MODES, value=False, description="mode")
        style = {"description_width": "170px"}
        layout = widgets.Layout(width="250px")
        self.warm_eni_target = widgets.IntText(value=1, description="WARM_ENI_TARGET", style=style, layout=layout)
        self.warm_ip_target = widgets.IntText(value=0, description="WARM_IP_TARGET", style=style, layout=layout)
        self.minimum_ip_target = widgets.IntText(value=0, description="MINIMUM_IP_TARGET", style=style,
                                                 layout=layout)
        self.warm_prefix_target = widgets.IntText(value=1, description="WARM_PREFIX_TARGET", style=style,
                                                  layout=layout)
        self.max_eni = widgets.IntText(value=0, description="MAX_ENI", style=style, layout=layout)
        self.pods = widgets.IntSlider(value=pods, min=0, max=max(pods, 1), description="pods",
                                      continuous_update=False, layout=widgets.Layout(width="520px"))
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.chart = widgets.Output()
        targets = [self.warm_eni_target, self.warm_ip_target, self.minimum_ip_target, self.warm_prefix_target,
                   self.max_eni]
        super().__init__([
            widgets.HBox([self.instance_type, self.mode]),
            widgets.HBox(targets[:3]), widgets.HBox(targets[3:]),
            self.pods, self.message, self.summary, self.chart,
        ])
        for control in [self.instance_type, self.mode, *targets, self.pods]:
            control.observe(lambda _change: self.update(), "value")
        self.update()

    def settings(self) -> PoolSettings:
        """The pool settings the controls select (raises EkslibError for a combination ipamd refuses)."""
        return PoolSettings(
            warm_eni_target=self.warm_eni_target.value, warm_ip_target=self.warm_ip_target.value,
            minimum_ip_target=self.minimum_ip_target.value, warm_prefix_target=self.warm_prefix_target.value,
            max_eni=self.max_eni.value, prefix_delegation=self.mode.value)

    def update(self) -> None:
        """Recompute the steady state from the controls and redraw; bad input becomes a message."""
        if self._busy:
            return
        self._busy = True
        try:
            self.state = guarded(self.message, self._compute)
        finally:
            self._busy = False
        if self.state is None:
            self.summary.value = ""
            self.chart.outputs = ()
            return
        s = self.state
        what = "prefixes" if s.limits.prefix_mode else "addresses"
        lines = [
            f"{s.instance_type}, {settings_label(s.settings)}: {s.pods} pod{'' if s.pods == 1 else 's'} "
            f"(up to {s.limits.max_pod_addresses} with an address)"
            + (f"; {s.pending} of them wait for an address" if s.pending else ""),
            f"{s.enis} ENIs, {what} per ENI {','.join(map(str, s.per_eni))}; {s.ips} pod addresses attached, "
            f"{s.unused} unused" + (f" ({s.unused_prefixes} empty of {s.prefixes} prefixes)" if s.limits.prefix_mode
                                    else ""),
            f"subnet addresses held by the node: {s.subnet_addresses} (ENI primaries included); "
            f"EC2 calls from boot: {s.ec2_calls}",
            *s.notes,
        ]
        self.summary.value = f"<pre>{html.escape(chr(10).join(lines))}</pre>"
        show_figure(self.chart, pool_figure(s))

    def _compute(self) -> PoolState:
        settings = self.settings()
        limits = node_limits(self.instance_type.value.strip(), settings)
        end = limits.max_pod_addresses
        if self.pods.max != end:           # the slider ends at what the node can run
            if self.pods.value > end:
                self.pods.value = end
            self.pods.max = end
        return steady_state(limits.instance_type, self.pods.value, settings=settings)
