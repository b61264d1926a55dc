"""ipamd's settings as aws-node reads them from its environment, and a node's limits in pool units.

Source: github.com/aws/amazon-vpc-cni-k8s ``pkg/ipamd/ipamd.go`` (``getWarmENITarget``, ``getWarmIPTarget``,
``getMinimumIPTarget``, ``getWarmPrefixTarget``, ``isConfigValid``) and ``cmd/aws-vpc-cni/main.go``;
the README's table of environment variables. WARM_IP_TARGET, MINIMUM_IP_TARGET and MAX_ENI <= 0 mean unset;
WARM_ENI_TARGET < 0 means its default 1 while 0 is a real value; WARM_PREFIX_TARGET < 0 means 0.

>>> PoolSettings(warm_ip_target=2, minimum_ip_target=5).mode
'warm IP'
>>> node_limits("t3.small", PoolSettings()).slots_per_eni
3
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ekslib.capacity import max_pods as capacity_max_pods
from ekslib.errors import EkslibError
from ekslib.facts import HOST_NETWORK_PODS, IP_COOLDOWN_S, IPS_PER_PREFIX
from ekslib.sources.instance_types import instance_type_info

# --------------------------------------------------------------------------------------------- settings

def _whole(name: str, value: Any, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EkslibError(f"{name} must be a whole number{' or None' if allow_none else ''}, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class PoolSettings:
    """ipamd's pool settings (environment variables of the ``aws-node`` DaemonSet), read as ipamd reads them.

    After construction the targets hold what ipamd uses: ``warm_ip_target``, ``minimum_ip_target`` and
    ``max_eni`` are None when unset (any value <= 0); ``warm_eni_target`` is 1 when None or negative
    (``getWarmENITarget``; 0 stays 0: grow only when no address is left); ``warm_prefix_target`` is 1 when
    None (the value the shipped manifest ``config/master/aws-k8s-cni.yaml`` sets) and 0 when <= 0.
    ``max_pods`` is kubelet's max-pods, which ipamd reads (None: the max-pods calculator's value for the
    mode); ``ip_cooldown_period`` is ``IP_COOLDOWN_PERIOD`` in seconds.

    >>> PoolSettings(warm_ip_target=0, minimum_ip_target=-3, max_eni=0)
    PoolSettings(warm_eni_target=1, warm_ip_target=None, minimum_ip_target=None, warm_prefix_target=1, ...)
    >>> PoolSettings(prefix_delegation=True, warm_prefix_target=0)
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: prefix_delegation=True with warm_prefix_target=0 and neither warm_ip_target ...
    """

    warm_eni_target: int | None = 1
    warm_ip_target: int | None = None
    minimum_ip_target: int | None = None
    warm_prefix_target: int | None = None
    max_eni: int | None = None
    prefix_delegation: bool = False
    custom_networking: bool = False
    ip_cooldown_period: int = IP_COOLDOWN_S
    max_pods: int | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for flag in ("prefix_delegation", "custom_networking"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise EkslibError(f"{flag} must be True or False, not {getattr(self, flag)!r}")
            put(flag, bool(getattr(self, flag)))
        eni = _whole("warm_eni_target", self.warm_eni_target)
        put("warm_eni_target", 1 if eni is None or eni < 0 else eni)
        for name in ("warm_ip_target", "minimum_ip_target", "max_eni"):
            value = _whole(name, getattr(self, name))
            put(name, value if value is not None and value > 0 else None)
        prefix = _whole("warm_prefix_target", self.warm_prefix_target)
        put("warm_prefix_target", 1 if prefix is None else max(prefix, 0))
        cooldown = _whole("ip_cooldown_period", self.ip_cooldown_period, allow_none=False)
        if cooldown < 0:
            raise EkslibError(f"ip_cooldown_period={cooldown} is not valid: IP_COOLDOWN_PERIOD is 0 or more seconds "
                              f"(aws-node refuses a negative value)")
        pods = _whole("max_pods", self.max_pods)
        if pods is not None and pods < 1:
            raise EkslibError(f"max_pods={pods} is not valid: kubelet's max-pods is at least 1 (or None: the "
                              f"calculator's value)")
        if self.prefix_delegation and self.warm_prefix_target == 0 and not self.ip_targets_set:
            raise EkslibError(
                "prefix_delegation=True with warm_prefix_target=0 and neither warm_ip_target nor minimum_ip_target "
                "set is refused by aws-node: 'Setting WARM_PREFIX_TARGET = 0 is not supported while "
                "WARM_IP_TARGET/MINIMUM_IP_TARGET is not set' (ipamd would keep no warm prefix at all); set "
                "warm_prefix_target >= 1 or an IP target")

    @property
    def ip_targets_set(self) -> bool:
        """True when WARM_IP_TARGET or MINIMUM_IP_TARGET is set: they override the ENI and prefix targets."""
        return self.warm_ip_target is not None or self.minimum_ip_target is not None

    @property
    def mode(self) -> str:
        """Which rule sizes the pool: ``'warm IP'``, ``'warm prefix'`` or ``'warm ENI'``."""
        if self.ip_targets_set:
            return "warm IP"
        return "warm prefix" if self.prefix_delegation else "warm ENI"


def pool_settings(settings: PoolSettings | None = None, **overrides: Any) -> PoolSettings:
    """A :class:`PoolSettings` from keyword arguments; an unknown name is refused with the valid ones.

    >>> pool_settings(warm_ip_target=2).mode
    'warm IP'
    >>> pool_settings(warm_ip=2)
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: unknown pool setting 'warm_ip'; valid: warm_eni_target, warm_ip_target, ...
    """
    names = [f.name for f in dataclasses.fields(PoolSettings)]
    unknown = [key for key in overrides if key not in names]
    if unknown:
        raise EkslibError(f"unknown pool setting {unknown[0]!r}; valid: {', '.join(names)}")
    base = settings if settings is not None else PoolSettings()
    if not overrides:
        return base
    raw = {name: getattr(base, name) for name in names}
    return PoolSettings(**{**raw, **overrides})


@dataclass(frozen=True)
class NodeLimits:
    """The limits ipamd works within on one instance type with given settings."""

    instance_type: str
    enis: int
    slots_per_eni: int
    prefix_mode: bool
    max_pods: int
    custom_networking: bool
    notes: tuple[str, ...] = ()

    @property
    def unit(self) -> int:
        """Addresses per slot: 16 in prefix mode, else 1."""
        return IPS_PER_PREFIX if self.prefix_mode else 1

    @property
    def pod_enis(self) -> int:
        """ENIs that give pod addresses (custom networking: not the primary ENI)."""
        return self.enis - int(self.custom_networking)

    @property
    def max_pod_addresses(self) -> int:
        """Pods with a VPC address the node can run: its address capacity, and kubelet's max-pods less the
        two host-network pods (aws-node, kube-proxy)."""
        return min(self.pod_enis * self.slots_per_eni * self.unit, self.max_pods - HOST_NETWORK_PODS)


def node_limits(instance_type: str, settings: PoolSettings) -> NodeLimits:
    """ENIs, slots per ENI, mode and max-pods of ``instance_type`` under ``settings``.

    >>> node_limits("t3.small", PoolSettings(prefix_delegation=True))
    NodeLimits(instance_type='t3.small', enis=3, slots_per_eni=3, prefix_mode=True, max_pods=110, ...)
    """
    t = instance_type_info(instance_type)
    notes: list[str] = []
    enis = t.enis if settings.max_eni is None else min(settings.max_eni, t.enis)
    prefix_mode = settings.prefix_delegation and t.nitro
    if settings.prefix_delegation and not t.nitro:
        notes.append(f"{t.instance_type} is not Nitro: ipamd falls back to secondary-IP mode (isConfigValid)")
    if settings.custom_networking and enis < 2:
        raise EkslibError(f"custom networking on {t.instance_type} with {enis} ENI(s) leaves no ENI for pod addresses "
                          f"(the primary ENI gives none); ipamd fails: 'Failed to attach any ENIs for custom "
                          f"networking'")
    if t.ipv4_per_eni < 2:
        raise EkslibError(f"{t.instance_type} has {t.ipv4_per_eni} IPv4 address per ENI: no secondary slot for pods")
    if settings.max_pods is not None:
        pods = settings.max_pods
    else:
        pods = capacity_max_pods(t.instance_type, prefix_delegation=prefix_mode, ceiling=prefix_mode,
                                 custom_networking=settings.custom_networking, max_eni=settings.max_eni)
    return NodeLimits(t.instance_type, enis, t.ipv4_per_eni - 1, prefix_mode, pods, settings.custom_networking,
                      tuple(notes))


