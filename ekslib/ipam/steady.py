"""Steady states: where ipamd's pool settles for a number of pods on a fresh node.

Computed by running the one-node simulator (:mod:`ekslib.ipam.simulation`) until the pool stops changing,
so a steady state is exactly what ipamd's code would leave, not a formula.

>>> steady_state("t3.small", 5).per_eni
(3, 3, 3)
>>> steady_state("t3.small", 58, prefix_delegation=True).per_eni
(3, 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ekslib._checks import whole
from ekslib.errors import EkslibError
from ekslib.facts import HOST_NETWORK_PODS
from ekslib.ipam.settings import NodeLimits, PoolSettings
from ekslib.ipam.simulation import SETTLE_LIMIT_S, NodeSimulation

# ------------------------------------------------------------------------------------------- steady state

@dataclass(frozen=True)
class PoolState:
    """The pool of one node once it settles for a fixed pod count (pods arriving one by one on a fresh node).

    ``ips``: pod addresses attached (secondary IPs, or prefixes x 16); ``per_eni``: addresses per ENI in
    secondary-IP mode, prefixes per ENI in prefix mode (every attached ENI, primary first); ``assigned``: pods
    with an address; ``pending``: pods still waiting for one (only when the pool stops growing, as with
    MINIMUM_IP_TARGET and no WARM_IP_TARGET: :attr:`PoolSettings.pool_ceiling`); ``unused``: attached addresses
    no pod uses; ``ec2_calls``: EC2 calls made from boot to the steady state.
    """

    instance_type: str
    pods: int
    settings: PoolSettings
    limits: NodeLimits
    enis: int
    ips: int
    prefixes: int
    assigned: int
    unused: int
    per_eni: tuple[int, ...]
    pods_per_eni: tuple[int, ...]
    pods_per_prefix: tuple[int, ...]
    ec2_calls: int
    seconds: float
    notes: tuple[str, ...] = field(default=())
    pending: int = 0

    @property
    def unused_prefixes(self) -> int:
        """Prefixes without a pod (0 in secondary-IP mode)."""
        return self.pods_per_prefix.count(0)

    @property
    def subnet_addresses(self) -> int:
        """Subnet addresses the node holds: every ENI's primary address (the node's own included) plus the
        pod addresses attached."""
        return self.enis + self.ips

    def as_dict(self) -> dict[str, Any]:
        """The state as a flat dict (settings flattened), e.g. for a DataFrame row."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("settings", "limits")}
        data.update(dataclasses.asdict(self.settings))
        data.update(max_pods=self.limits.max_pods, max_pod_addresses=self.limits.max_pod_addresses,
                    prefix_mode=self.limits.prefix_mode, unused_prefixes=self.unused_prefixes)
        return data


def _ramp(sim: NodeSimulation, pods: int) -> Iterable[tuple[int, bool]]:
    """Add pods one by one to ``sim``, letting the pool settle after each; yield ``(pods, settled)`` at 0 and
    after each pod (settled False: the pool cycles, and the state is the one right after growing)."""

    def settle() -> bool:
        start = sim.now
        while not sim.settled():
            sim.step()
            if sim.now - start > SETTLE_LIMIT_S:
                # ipamd's rules can cycle: e.g. WARM_ENI_TARGET=0 frees an idle ENI once 60 s old
                # (available >= (0 + 1) x P) and attaches it again as soon as the pool is empty
                while not sim.settled(growth_only=True) and sim.now - start <= 2 * SETTLE_LIMIT_S:
                    sim.step()
                return False
        return True

    yield 0, settle()
    for count in range(1, pods + 1):
        sim.add_pods(1)
        yield count, settle()


def _state(sim: NodeSimulation, pods: int, calm: bool) -> PoolState:
    ready = sim._ready()
    per_eni = tuple(len(e.slots) for e in ready)
    ips = sum(per_eni) * sim.limits.unit
    assigned = sum(e.assigned for e in ready)
    pending = len(sim.pending_pods())
    notes = list(sim.limits.notes)
    if not calm:
        notes.append(f"the pool does not settle at {pods} pods: ipamd keeps attaching and freeing an ENI "
                     f"({sim.settings.mode} mode); shown after growing")
    if pending:
        ceiling = sim.settings.pool_ceiling
        if ceiling is not None and ips >= ceiling:
            why = (f"MINIMUM_IP_TARGET={ceiling} without WARM_IP_TARGET stops the pool at {ips} addresses (VPC CNI "
                   f"README: it 'will prevent future ENIs/IPs from being allocated')")
        elif sim.failure_codes:
            why = (f"the subnet refuses more ({', '.join(sorted(sim.failure_codes))}), so the pool stops at {ips} "
                   f"addresses")
        else:
            why = f"the pool stops at {ips} addresses"
        notes.append(f"{pending} of {pods} pods wait for an address: {why}")
    return PoolState(
        instance_type=sim.limits.instance_type, pods=pods, settings=sim.settings, limits=sim.limits,
        enis=len(ready), ips=ips, prefixes=sum(per_eni) if sim.limits.prefix_mode else 0, assigned=assigned,
        unused=ips - assigned, per_eni=per_eni, pods_per_eni=tuple(e.assigned for e in ready),
        pods_per_prefix=tuple(u for e in ready for u in e.slot_used) if sim.limits.prefix_mode else (),
        ec2_calls=sum(sim.ec2_calls.values()), seconds=sim.now, notes=tuple(notes), pending=pending)


def _fresh(instance_type: str, pods: int | None, settings: PoolSettings | None,
           overrides: dict[str, Any]) -> tuple[NodeSimulation, int]:
    sim = NodeSimulation(instance_type, settings=settings, **overrides)
    if pods is None:
        return sim, sim.limits.max_pod_addresses
    whole("pods", pods, minimum=0)
    if pods > sim.limits.max_pod_addresses:
        raise EkslibError(f"pods={pods} does not fit {sim.limits.instance_type}: at most "
                          f"{sim.limits.max_pod_addresses} pods with an address (max pods {sim.limits.max_pods}, "
                          f"of which {HOST_NETWORK_PODS} host-network)")
    return sim, pods


def steady_state(instance_type: str, pods: int, *, settings: PoolSettings | None = None, **overrides: Any) -> PoolState:
    """The pool once it settles with ``pods`` pods, reached as ipamd reaches it: a fresh node, then pods
    arriving one by one, each waiting until the pool has settled. Reproduces the published tables of
    ``docs/eni-and-ip-target.md`` and ``docs/prefix-and-ip-target.md`` (see :func:`compare_published`).

    >>> s = steady_state("t3.small", 0, warm_ip_target=2, minimum_ip_target=5)
    >>> s.enis, s.ips, s.unused, s.per_eni
    (2, 5, 5, (3, 2))

    MINIMUM_IP_TARGET without WARM_IP_TARGET: the pool stops at the minimum, and later pods wait:

    >>> s = steady_state("t3.small", 7, minimum_ip_target=5)
    >>> s.ips, s.assigned, s.pending, s.unused
    (5, 5, 2, 0)
    """
    sim, pods = _fresh(instance_type, pods, settings, overrides)
    *_, (count, calm) = _ramp(sim, pods)
    return _state(sim, count, calm)


def steady_states(instance_type: str, pods: int | None = None, *, settings: PoolSettings | None = None,
                  **overrides: Any) -> pd.DataFrame:
    """:func:`steady_state` for every pod count from 0 to ``pods`` (None: as many as the node can run), in one
    ramp; one row per pod count (``PoolState.as_dict`` columns, ``per_eni`` as a tuple).

    >>> table = steady_states("t3.small")
    >>> table[["pods", "enis", "ips", "unused"]].iloc[[0, 1, 4, 9]].values.tolist()
    [[0, 1, 3, 3], [1, 2, 6, 5], [4, 3, 9, 5], [9, 3, 9, 0]]
    """
    sim, pods = _fresh(instance_type, pods, settings, overrides)
    rows = [_state(sim, count, calm).as_dict() for count, calm in _ramp(sim, pods)]
    return pd.DataFrame(rows)
