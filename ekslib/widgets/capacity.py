"""A thin GUI over :mod:`ekslib.capacity`: choose an instance type and the VPC CNI settings, see the derivation.

>>> from ekslib.widgets.capacity import CapacityExplorer
>>> explorer = CapacityExplorer("t3.medium")
>>> explorer.explanation.max_pods
17
>>> explorer.prefix_delegation.value = True
>>> explorer.explanation.max_pods
242
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ekslib.capacity import Explanation, explain_max_pods
from ekslib.facts import DEFAULT_CNI_VERSION
from ekslib.figures.capacity import explanation_figure, modes_figure
from ekslib.sources.instance_types import families, instance_type_info, sizes_of
from ekslib.widgets.common import guarded, show_figure


class CapacityExplorer(widgets.VBox):
    """Family and size (or a typed name), the capacity settings, the derivation, and two charts.

    ``explanation`` holds the latest :class:`~ekslib.capacity.Explanation` (None after bad input, when
    ``message`` says what is wrong). All computing is done by :func:`ekslib.capacity.explain_max_pods`.
    """

    def __init__(self, instance_type: str = "t3.medium") -> None:
        start = instance_type_info(instance_type)
        self.explanation: Explanation | None = None
        self.family = widgets.Dropdown(options=families(), value=start.family, description="family")
        self.size = widgets.Dropdown(options=sizes_of(start.family), value=start.size, description="size")
        self.name = widgets.Text(value=start.instance_type, description="type", continuous_update=False,
                                 placeholder="e.g. m5.large")
        self.prefix_delegation = widgets.Checkbox(description="prefix delegation", indent=False)
        self.custom_networking = widgets.Checkbox(description="custom networking", indent=False)
        self.ceiling = widgets.Checkbox(description="110/250 ceiling", indent=False)
        self.security_groups_for_pods = widgets.Checkbox(description="security groups for pods", indent=False)
        self.max_eni = widgets.IntText(value=0, description="MAX_ENI", tooltip="0 = unset: every ENI")
        self.cni_version = widgets.Text(value=DEFAULT_CNI_VERSION, description="CNI", continuous_update=False)
        self.message = widgets.HTML()
        self.derivation = widgets.HTML()
        self.derivation_chart = widgets.Output()
        self.family_chart = widgets.Output()
        settings = [self.prefix_delegation, self.custom_networking, self.ceiling, self.security_groups_for_pods,
                    self.max_eni, self.cni_version]
        super().__init__([
            widgets.HBox([self.family, self.size, self.name]),
            widgets.HBox(settings[:4]), widgets.HBox(settings[4:]),
            self.message, self.derivation, self.derivation_chart, self.family_chart,
        ])
        self.family.observe(self._on_family, "value")
        self.size.observe(self._on_size, "value")
        self.name.observe(self._on_name, "value")
        for control in settings:
            control.observe(lambda _change: self.update(), "value")
        self.update(family_changed=True)

    @property
    def instance_type(self) -> str:
        """The instance type the dropdowns select."""
        return f"{self.family.value}.{self.size.value}"

    def _on_family(self, change: dict) -> None:
        sizes = sizes_of(change["new"])
        with self.hold_trait_notifications():
            self.size.options = sizes
            self.size.value = "large" if "large" in sizes else sizes[0]
        self.update(family_changed=True)

    def _on_size(self, change: dict) -> None:
        if change["new"] is not None:
            self.update()

    def _on_name(self, change: dict) -> None:
        found = guarded(self.message, lambda: instance_type_info(change["new"]))
        if found is None:
            self.explanation = None
            return
        self.family.value = found.family  # fires _on_family when it changes
        self.size.value = found.size

    def update(self, family_changed: bool = False) -> None:
        """Recompute the explanation from the controls and redraw; bad input becomes a message."""
        self.explanation = guarded(self.message, lambda: explain_max_pods(
            self.instance_type,
            cni_version=self.cni_version.value,
            prefix_delegation=self.prefix_delegation.value,
            custom_networking=self.custom_networking.value,
            ceiling=self.ceiling.value,
            security_groups_for_pods=self.security_groups_for_pods.value,
            max_eni=self.max_eni.value if self.max_eni.value > 0 else None,
        ))
        if self.explanation is None:
            self.derivation.value = ""
            return
        if self.name.value != self.instance_type:
            self.name.value = self.instance_type
        self.derivation.value = f"<pre>{html.escape(self.explanation.to_text())}</pre>"
        show_figure(self.derivation_chart, explanation_figure(self.explanation))
        if family_changed:
            guarded(self.message, lambda: show_figure(
                self.family_chart, modes_figure(self.family.value, cni_version=DEFAULT_CNI_VERSION)))
