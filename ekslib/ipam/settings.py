"""ipamd's settings as aws-node reads them from its environment, and a node's limits in pool units.

Source: github.com/aws/amazon-vpc-cni-k8s ``pkg/ipamd/ipamd.go`` (``getWarmENITarget``, ``getWarmIPTarget``,
``getMinimumIPTarget``, ``getWarmPrefixTarget``, ``isConfigValid``), ``pkg/awsutils/awsutils.go``
(``IsPrefixDelegationSupported``) and ``cmd/aws-vpc-cni/main.go``; the README's table of environment variables.
WARM_IP_TARGET, MINIMUM_IP_TARGET and MAX_ENI <= 0 mean unset; WARM_ENI_TARGET < 0 means its default 1 while 0
is a real value; WARM_PREFIX_TARGET < 0 means 0.

ipam models ipamd of the current VPC CNI (``ekslib.facts.DEFAULT_CNI_VERSION``): it delegates prefixes on Nitro
types and on bare metal (since CNI 1.11; :func:`ekslib.capacity.prefix_delegation_supported`), and falls back
to secondary-IP mode elsewhere (``isConfigValid``).

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

from ekslib._checks import whole
from ekslib.capacity import max_pods as capacity_max_pods
from ekslib.capacity import prefix_delegation_supported
from ekslib.errors import EkslibError
from ekslib.facts import HOST_NETWORK_PODS, IP_COOLDOWN_S, IPS_PER_PREFIX
from ekslib.sources.instance_types import instance_type_info

# --------------------------------------------------------------------------------------------- settings


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
        eni = whole("warm_eni_target", self.warm_eni_target, allow_none=True)
        put("warm_eni_target", 1 if eni is None or eni < 0 else eni)
        for name in ("warm_ip_target", "minimum_ip_target", "max_eni"):
            value = whole(name, getattr(self, name), allow_none=True)
            put(name, value if value is not None and value > 0 else None)
        prefix = whole("warm_prefix_target", self.warm_prefix_target, allow_none=True)
        put("warm_prefix_target", 1 if prefix is None else max(prefix, 0))
        cooldown = whole("ip_cooldown_period", self.ip_cooldown_period)
        if cooldown < 0:
            raise EkslibError(f"ip_cooldown_period={cooldown} is not valid: IP_COOLDOWN_PERIOD is 0 or more seconds "
                              f"(aws-node refuses a negative value)")
        pods = whole("max_pods", self.max_pods, allow_none=True)
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

    @property
    def pool_ceiling(self) -> int | None:
        """The pod addresses at which the pool stops growing for good, whatever the pods: MINIMUM_IP_TARGET when
        it is set without WARM_IP_TARGET (None otherwise).

        With no WARM_IP_TARGET ipamd takes it as 0, so once MINIMUM_IP_TARGET addresses are attached it is short
        of nothing and attaches no more addresses or ENIs; further pods wait (VPC CNI README, ``MINIMUM_IP_TARGET``
        note 2: "This configuration will prevent future ENIs/IPs from being allocated"; ``datastoreTargetState``).
        In prefix mode the minimum rounds up to whole /28 prefixes.

        >>> PoolSettings(minimum_ip_target=10).pool_ceiling
        10
        >>> PoolSettings(minimum_ip_target=10, warm_ip_target=2).pool_ceiling is None
        True
        """
        if self.minimum_ip_target is not None and self.warm_ip_target is None:
            return self.minimum_ip_target
        return None


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

    Prefix mode follows ipamd (:func:`ekslib.capacity.prefix_delegation_supported`, ``IsPrefixDelegationSupported``
    in the VPC CNI's ``pkg/awsutils/awsutils.go``): Nitro and bare metal delegate prefixes, Xen types fall back
    to secondary-IP mode (``isConfigValid``). Max pods, unless given, is what the max-pods calculator prints
    for the mode (:func:`ekslib.capacity.max_pods`, with the 110/250 ceiling in prefix mode).

    >>> node_limits("t3.small", PoolSettings(prefix_delegation=True))
    NodeLimits(instance_type='t3.small', enis=3, slots_per_eni=3, prefix_mode=True, max_pods=110, ...)
    >>> node_limits("m5.metal", PoolSettings(prefix_delegation=True)).prefix_mode
    True
    """
    t = instance_type_info(instance_type)
    notes: list[str] = []
    enis = t.enis if settings.max_eni is None else min(settings.max_eni, t.enis)
    supported = prefix_delegation_supported(t)
    prefix_mode = settings.prefix_delegation and supported
    if settings.prefix_delegation and not supported:
        notes.append(f"{t.instance_type} is neither Nitro nor bare metal (hypervisor {t.hypervisor or 'none'}): "
                     f"ipamd falls back to secondary-IP mode (isConfigValid, IsPrefixDelegationSupported)")
    elif prefix_mode and not t.nitro:
        notes.append(f"{t.instance_type} is bare metal: ipamd delegates prefixes here (IsPrefixDelegationSupported, "
                     f"CNI >= 1.11), though the max-pods calculator counted them only on Nitro types")
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


