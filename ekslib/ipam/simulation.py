"""ipamd's warm pool on one node: the decision it takes every 5 s, a step-by-step simulator, and steady states.

Everything here follows the VPC CNI's own code (github.com/aws/amazon-vpc-cni-k8s, ``pkg/ipamd/ipamd.go`` and
``pkg/ipamd/datastore/data_store.go``) and its documentation:

* every 5 s (``ipPoolMonitorInterval``) ipamd checks the pool. Secondary-IP mode counts addresses, P per ENI
  (IPv4 per ENI - 1, ``GetENIIPv4Limit``); prefix mode counts /28 prefixes, P per ENI, 16 addresses each.
* pool too low: with ``WARM_IP_TARGET``/``MINIMUM_IP_TARGET`` set, when ``short = max(WARM_IP - available,
  MINIMUM_IP - total, 0) > 0`` (in prefixes: ceil(short / 16)); otherwise when ``available < P x
  WARM_ENI_TARGET`` (prefix mode: ``available < 16 x WARM_PREFIX_TARGET``), or ``available == 0`` with a
  target of 0. Never once the node holds ``max pods`` addresses (``isDatastorePoolTooLow``).
* growing (``increaseDatastorePool``): top up ONE existing ENI, the first with a free slot, with
  ``min(free slots, wanted)`` (``tryAssignIPs``/``tryAssignPrefixes``); only when no ENI has a free slot,
  attach a new ENI with ``min(wanted, P)`` (``tryAllocateENI``). Wanted: P (warm-ENI mode), ``short``
  (IP targets), ``max(1, WARM_PREFIX_TARGET - free prefixes)`` (prefix mode).
* shrinking: only with IP targets (``over = max(min(available - WARM_IP, total - MINIMUM_IP), 0)``) or in
  prefix mode (free prefixes above ``WARM_PREFIX_TARGET``), at most once per 30 s
  (``decreaseIPPoolInterval``; the check is ``<= 30 s``, so 35 s apart at the 5 s loop).
* freeing an ENI (``tryFreeENI``, every loop): never the primary ENI, one with pods, one younger than 60 s
  (``minENILifeTime``), one with an address in cooldown, nor one the targets still need (``getDeletableENI``).
  Warm-ENI mode looks for one when ``available >= (WARM_ENI_TARGET + 1) x P``.
* a pod's address, once released, is not given to another pod for 30 s (``IP_COOLDOWN_PERIOD``); an ENI
  takes up to ~10 s to attach (``eniAttachTime``; docs/eni-and-ip-target.md); after
  ``InsufficientCidrBlocks``/``InsufficientFreeAddressesInSubnet`` ipamd waits 120 s before trying again
  (``containsInsufficientCIDRsOrSubnetIPs``, ``insufficientCidrErrorCooldown``).
* EC2's other answer to a short subnet, ``InvalidParameterValue`` ("There aren't sufficient free Ipv4 addresses
  or prefixes", VPC CNI issue #3105), is not one of those two codes, so ipamd does not back off: it asks again
  at the next 5 s loop. EC2 does not document which code it gives when, so which one this model answers is a
  convention: secondary-IP requests get ``InsufficientFreeAddressesInSubnet`` (as in VPC CNI PR #1773's logs);
  prefix requests get ``InvalidParameterValue`` when the subnet has fewer free addresses than asked for (AWS
  support as quoted in cilium/cilium PR #31016) and ``InsufficientCidrBlocks`` when it has them but no free
  aligned /28 (fragmentation, #2749). Real subnets can differ: #3105 saw ``InvalidParameterValue`` with
  addresses to spare. What follows from each code, back-off or none, is ipamd's code.
* settings: WARM_IP_TARGET, MINIMUM_IP_TARGET and MAX_ENI <= 0 mean unset; WARM_ENI_TARGET < 0 means its
  default 1 while 0 is a real value; WARM_PREFIX_TARGET < 0 means 0. Prefix mode with WARM_PREFIX_TARGET
  and both IP targets at 0 is refused by aws-node (``cmd/aws-vpc-cni/main.go``). Prefix mode works on Nitro
  and bare-metal types and falls back to secondary-IP mode on the others (``isConfigValid``,
  ``IsPrefixDelegationSupported``: :func:`ekslib.capacity.prefix_delegation_supported`).
* MINIMUM_IP_TARGET without WARM_IP_TARGET: the pool stops growing at the minimum and later pods wait
  (VPC CNI README: "This configuration will prevent future ENIs/IPs from being allocated").

Where Go walks a map (which ENI to top up, free or release from: random order in ipamd), this model is
deterministic: it tops up and assigns from the oldest ENI first and frees from the newest first.

Two findings from the code: (1) the published row WARM_IP_TARGET=2 / MINIMUM_IP_TARGET=5 at 0 pods lists
"2,3" addresses per ENI, but ipamd fills the primary ENI first (3), then attaches a second ENI with the 2
still short: 3,2; four rows of the prefix table contradict themselves (:func:`published_row_problems`).
(2) WARM_ENI_TARGET=0 with exactly a full ENI's worth of pods never settles: the idle ENI meets
``available >= (0 + 1) x P``, is freed once 60 s old, and is attached again as soon as the pool is empty.

>>> from ekslib.ipam.schedules import ramp
>>> timeline = simulate("t3.medium", ramp(5), duration_s=120)
>>> int(timeline["pods_running"].iloc[-1])
5
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ekslib._checks import whole
from ekslib.errors import EkslibError
from ekslib.facts import (
    ASSIGN_CALL,
    ATTACH_ENI_CALLS,
    DECREASE_INTERVAL_S,
    ENI_ATTACH_DELAY_S,
    FREE_ENI_CALLS,
    INSUFFICIENT_ADDRESSES_BACKOFF_S,
    INSUFFICIENT_CIDR_BLOCKS,
    INSUFFICIENT_FREE_ADDRESSES,
    INVALID_PARAMETER_VALUE,
    IPS_PER_PREFIX,
    MIN_ENI_AGE_S,
    POOL_LOOP_S,
    UNASSIGN_CALL,
)
from ekslib.ipam.decision import PoolCounts, deletable_enis, pool_decision
from ekslib.ipam.schedules import Schedule, schedule_events
from ekslib.ipam.settings import PoolSettings, node_limits, pool_settings
from ekslib.ipam.subnet_space import SubnetSpace

#: steady_state() calls a pool that has not settled this long after a pod arrived a cycle (beyond the 60 s
#: ENI age, the 30 s cooldown and shrink interval, and the 120 s back-off).
SETTLE_LIMIT_S = 600
#: The subnets the one-node simulator draws from by default (a /19 as in EKS best-practice layouts).
DEFAULT_SUBNET = "10.0.0.0/19"
#: The ENIConfig subnet for pod ENIs under custom networking (a CG-NAT range, as the EKS docs suggest).
DEFAULT_POD_SUBNET = "100.64.0.0/19"


# ------------------------------------------------------------------------------------- one node, simulated

class _Eni:
    """One attached ENI: its primary address and its slots (secondary addresses or /28 prefixes) as ints."""

    __slots__ = ("name", "primary", "space", "created_s", "ready_s", "slots", "slot_used", "is_primary")

    def __init__(self, name: str, primary: int, space: SubnetSpace, created_s: float, ready_s: float,
                 is_primary: bool):
        self.name, self.primary, self.space = name, primary, space
        self.created_s, self.ready_s, self.is_primary = created_s, ready_s, is_primary
        self.slots: list[int] = []
        self.slot_used: list[int] = []

    @property
    def assigned(self) -> int:
        return sum(self.slot_used)


class NodeSimulation:
    """ipamd on one node, step by step at the 5 s pool loop, with real addresses from real subnets.

    ``add_pods``/``remove_pods`` change the pods scheduled on the node; :meth:`step` advances one loop
    (CNI ADD for pending pods, then ipamd's pool decision); :meth:`row` is the state as a timeline row.
    Every ENI has its primary address and its secondary addresses (or /28 prefixes) drawn from ``subnet``
    (pod ENIs from ``pod_subnet`` under custom networking), so that who holds which address can be checked.

    >>> sim = NodeSimulation("t3.medium")
    >>> sim.add_pods(6)
    >>> for _ in range(6):
    ...     _ = sim.step()
    >>> sim.row()["pods_running"], sim.row()["enis"], sim.row()["ips_attached"]
    (6, 3, 15)
    """

    def __init__(self, instance_type: str, *, subnet: Any = DEFAULT_SUBNET, pod_subnet: Any = None,
                 used_addresses: Iterable[Any] = (), attach_delay_s: float = ENI_ATTACH_DELAY_S,
                 settings: PoolSettings | None = None, **overrides: Any):
        self.settings = pool_settings(settings, **overrides)
        self.limits = node_limits(instance_type, self.settings)
        if not 0 <= attach_delay_s < 3600:
            raise EkslibError(f"attach_delay_s must be 0 to 3600 seconds, not {attach_delay_s}")
        self.attach_delay_s = attach_delay_s
        self.subnet = SubnetSpace(subnet, used_addresses)
        if self.settings.custom_networking:
            self.pod_subnet = SubnetSpace(pod_subnet if pod_subnet is not None else DEFAULT_POD_SUBNET)
        else:
            if pod_subnet is not None:
                raise EkslibError("pod_subnet is the ENIConfig subnet of custom networking: pass "
                                  "custom_networking=True with it")
            self.pod_subnet = self.subnet
        self.now = 0.0
        primary = self.subnet.allocate_address_int()
        if primary is None:
            raise EkslibError(f"subnet {self.subnet.network} has no free address for the node's primary IP")
        self.enis: list[_Eni] = [_Eni("eni-0", primary, self.subnet, -math.inf, -math.inf, True)]
        self._eni_counter = 1
        self._owner: dict[int, int] = {}          # address -> pod id
        self._released: dict[int, float] = {}     # address -> when its pod released it
        self._cooling: deque[tuple[float, int]] = deque()
        self._pod_address: dict[int, int] = {}    # pod id -> address
        self._alive: list[int] = []               # pod ids in arrival order
        self._pending: deque[int] = deque()
        self._next_pod = 0
        self.ec2_calls: dict[str, int] = {}
        self.failures = 0
        self.failure_codes: dict[str, int] = {}   # EC2 error code -> refused allocations
        self._last_decrease = -math.inf
        self._last_insufficient = -math.inf
        self._last_refused = -math.inf
        self.schedule_events: list[str] = []

    # -- pods -----------------------------------------------------------------------------------------
    def add_pods(self, count: int) -> None:
        """``count`` pods scheduled on the node: they wait (pending) until CNI ADD gets them an address."""
        for _ in range(whole("count", count, minimum=0)):
            self._alive.append(self._next_pod)
            self._pending.append(self._next_pod)
            self._next_pod += 1
        if count:
            self.schedule_events.append(f"+{count} pod{'s' if count > 1 else ''}")

    def remove_pods(self, count: int) -> None:
        """``count`` pods deleted, newest first; a running pod's address goes into cooldown."""
        count = min(whole("count", count, minimum=0), len(self._alive))
        for _ in range(count):
            pod = self._alive.pop()
            address = self._pod_address.pop(pod, None)
            if address is None:
                self._pending.remove(pod)
                continue
            del self._owner[address]
            eni, slot = self._slot_of(address)
            eni.slot_used[slot] -= 1
            self._released[address] = self.now
            self._cooling.append((self.now, address))
        if count:
            self.schedule_events.append(f"-{count} pod{'s' if count > 1 else ''}")

    def _slot_of(self, address: int) -> tuple[_Eni, int]:
        key = address - address % IPS_PER_PREFIX if self.limits.prefix_mode else address
        for eni in self.enis:
            if key in eni.slots:
                return eni, eni.slots.index(key)
        raise KeyError(address)

    def _cooling_now(self, address: int) -> bool:
        released = self._released.get(address)
        return released is not None and self.now - released <= self.settings.ip_cooldown_period

    def _free_address(self, eni: _Eni) -> tuple[int, int] | None:
        unit = self.limits.unit
        for slot, base in enumerate(eni.slots):
            if eni.slot_used[slot] >= unit:
                continue
            for address in range(base, base + unit):
                if address not in self._owner and not self._cooling_now(address):
                    return slot, address
        return None

    def _place_pending(self) -> int:
        placed = 0
        while self._pending and len(self._pod_address) < self.limits.max_pod_addresses:
            found = None
            for eni in self.enis:
                if eni.ready_s <= self.now and len(eni.slots) and eni.assigned < len(eni.slots) * self.limits.unit:
                    found = self._free_address(eni)
                    if found:
                        break
            if found is None:
                break
            slot, address = found
            pod = self._pending.popleft()
            self._owner[address] = pod
            self._pod_address[pod] = address
            self._released.pop(address, None)
            eni.slot_used[slot] += 1
            placed += 1
        return placed

    # -- counts and EC2 ---------------------------------------------------------------------------------
    def _ready(self) -> list[_Eni]:
        return [eni for eni in self.enis if eni.ready_s <= self.now]

    def _cooling_by_eni(self) -> dict[str, int]:
        while self._cooling and self.now - self._cooling[0][0] > self.settings.ip_cooldown_period:
            self._cooling.popleft()
        counts: dict[str, int] = {}
        for released, address in self._cooling:
            if self._released.get(address) == released and address not in self._owner:
                try:
                    eni, _ = self._slot_of(address)
                except KeyError:        # released from the node since
                    continue
                counts[eni.name] = counts.get(eni.name, 0) + 1
        return counts

    def counts(self) -> PoolCounts:
        """The pool as ipamd's loop sees it now (ready ENIs only)."""
        ready = self._ready()
        unit, slots = self.limits.unit, self.limits.slots_per_eni
        room = 0
        for eni in ready:
            if not (eni.is_primary and self.limits.custom_networking) and len(eni.slots) < slots:
                room = slots - len(eni.slots)
                break
        return PoolCounts(
            total=sum(len(e.slots) for e in ready) * unit,
            assigned=sum(e.assigned for e in ready),
            free_prefixes=sum(used == 0 for e in ready for used in e.slot_used) if self.limits.prefix_mode else 0,
            room=room, enis=len(self.enis),
            idle_enis=sum(1 for e in ready if not e.is_primary and e.assigned == 0))

    def _amount(self, count: int) -> str:
        """``count`` slots in words: '3 IPs', '1 prefix', '2 prefixes'."""
        if self.limits.prefix_mode:
            return f"{count} prefix{'es' if count != 1 else ''}"
        return f"{count} IP{'s' if count != 1 else ''}"

    def _call(self, name: str, times: int = 1) -> None:
        self.ec2_calls[name] = self.ec2_calls.get(name, 0) + times

    def _take(self, space: SubnetSpace) -> int | None:
        return space.allocate_prefix_int() if self.limits.prefix_mode else space.allocate_address_int()

    def _refusal(self, space: SubnetSpace, addresses: int) -> str:
        """The error code EC2 gives a request for ``addresses`` addresses that ``space`` cannot fill (see the
        module docstring): secondary IPs -> InsufficientFreeAddressesInSubnet; prefixes -> InvalidParameterValue
        when fewer addresses than asked for are free, else InsufficientCidrBlocks (no free aligned /28)."""
        if not self.limits.prefix_mode:
            return INSUFFICIENT_FREE_ADDRESSES
        return INVALID_PARAMETER_VALUE if space.free_count < addresses else INSUFFICIENT_CIDR_BLOCKS

    def _fail(self, code: str) -> None:
        self.failures += 1
        self.failure_codes[code] = self.failure_codes.get(code, 0) + 1
        self._last_refused = self.now
        if code in (INSUFFICIENT_CIDR_BLOCKS, INSUFFICIENT_FREE_ADDRESSES):
            self._last_insufficient = self.now
            self.schedule_events.append(f"{code}: ipamd backs off {INSUFFICIENT_ADDRESSES_BACKOFF_S} s")
        else:
            self.schedule_events.append(f"{code}: no back-off, ipamd asks again at the next loop")

    def _assign(self, eni: _Eni, count: int) -> None:
        """AssignPrivateIpAddresses on ``eni``: all ``count`` or nothing; on failure ipamd asks for one."""
        code = INSUFFICIENT_FREE_ADDRESSES
        for attempt in (count, 1) if count > 1 else (1,):
            self._call(ASSIGN_CALL)
            taken = [self._take(eni.space) for _ in range(attempt)]
            if None not in taken:
                eni.slots += taken
                eni.slot_used += [0] * attempt
                self.schedule_events.append(f"{ASSIGN_CALL}: +{self._amount(attempt)} on {eni.name}")
                return
            for value in taken:
                if value is not None:
                    eni.space.release_int(value, self.limits.unit)
            code = self._refusal(eni.space, attempt * self.limits.unit)
        self._fail(code)

    def _attach(self, count: int) -> None:
        """CreateNetworkInterface with ``count`` slots, attach it; usable after the attach delay."""
        space = self.pod_subnet
        self._call(ATTACH_ENI_CALLS[0])
        primary = space.allocate_address_int()
        taken = [self._take(space) for _ in range(count)] if primary is not None else []
        if primary is None or None in taken:
            for value in taken:
                if value is not None:
                    space.release_int(value, self.limits.unit)
            if primary is not None:
                space.release_int(primary)
            self._fail(self._refusal(space, 1 + count * self.limits.unit))
            return
        for name in ATTACH_ENI_CALLS[1:]:
            self._call(name)
        eni = _Eni(f"eni-{self._eni_counter}", primary, space, self.now, self.now + self.attach_delay_s, False)
        self._eni_counter += 1
        eni.slots, eni.slot_used = taken, [0] * count
        self.enis.append(eni)
        self.schedule_events.append(f"attach {eni.name} with {self._amount(count)}")

    def _release(self, count: int) -> None:
        """UnassignPrivateIpAddresses: release ``count`` slots with no assigned address, newest ENI first."""
        for eni in reversed(self._ready()):
            free = [i for i, used in enumerate(eni.slot_used) if used == 0]
            if not free or count <= 0:
                continue
            chosen = free[-min(count, len(free)):]
            for i in sorted(chosen, reverse=True):
                eni.space.release_int(eni.slots[i], self.limits.unit)
                del eni.slots[i]
                del eni.slot_used[i]
            count -= len(chosen)
            self._call(UNASSIGN_CALL)
            self.schedule_events.append(f"{UNASSIGN_CALL}: -{self._amount(len(chosen))} on {eni.name}")

    def _try_free_eni(self) -> None:
        ready = self._ready()
        cooling = self._cooling_by_eni()
        mask = deletable_enis(
            [len(e.slots) for e in ready], [e.assigned for e in ready],
            [sum(u == 0 for u in e.slot_used) for e in ready], [cooling.get(e.name, 0) for e in ready],
            [self.now - e.created_s >= MIN_ENI_AGE_S for e in ready], [e.is_primary for e in ready],
            self.limits, self.settings)
        for eni, ok in zip(reversed(ready), reversed(mask.tolist())):
            if ok:
                for base in eni.slots:
                    eni.space.release_int(base, self.limits.unit)
                eni.space.release_int(eni.primary)
                self.enis.remove(eni)
                for name in FREE_ENI_CALLS:
                    self._call(name)
                self.schedule_events.append(f"free {eni.name}")
                return

    # -- the loop -------------------------------------------------------------------------------------
    def pool_loop(self) -> None:
        """One run of ipamd's pool check (``updateIPPoolIfRequired``) at the current time."""
        if any(eni.ready_s > self.now for eni in self.enis):
            return                      # ipamd waits in tryAllocateENI until the new ENI is attached
        counts = self.counts()
        backoff = self.now - self._last_insufficient <= INSUFFICIENT_ADDRESSES_BACKOFF_S
        due = self.now - self._last_decrease > DECREASE_INTERVAL_S
        d = pool_decision(counts, self.limits, self.settings, backoff=backoff, decrease_due=due)
        if d.assign > 0:
            eni = next(e for e in self._ready() if not (e.is_primary and self.limits.custom_networking)
                       and len(e.slots) < self.limits.slots_per_eni)
            self._assign(eni, int(d.assign))
        elif d.attach > 0:
            self._attach(int(d.attach))
        elif not d.low and d.high and due:
            self._last_decrease = self.now
            if d.release > 0:
                self._release(int(d.release))
        if d.check_free_eni:
            self._try_free_eni()

    def step(self, dt: float = POOL_LOOP_S) -> list[str]:
        """Advance ``dt`` seconds: ENIs finish attaching, pending pods get addresses, the pool loop runs, and
        pods get any address it added. Returns what happened (as text)."""
        self.now += dt
        self.tick()
        events, self.schedule_events = self.schedule_events, []
        return events

    def tick(self) -> None:
        """At the current time: CNI ADD for pending pods, the pool loop, CNI ADD again."""
        for eni in self.enis:
            if self.now - POOL_LOOP_S < eni.ready_s <= self.now:
                self.schedule_events.append(f"{eni.name} ready")
        placed = self._place_pending()
        self.pool_loop()
        placed += self._place_pending()
        if placed:
            self.schedule_events.append(f"{placed} pod{'s' if placed > 1 else ''} got an address")

    def take_events(self) -> list[str]:
        """What happened since the last call (as text)."""
        events, self.schedule_events = self.schedule_events, []
        return events

    def settled(self, *, growth_only: bool = False) -> bool:
        """True when nothing more will happen without new pods: no ENI attaching, no pod that could get an
        address, and a pool loop with nothing to add, release or free (ENI age and cooldown aside);
        ``growth_only``: nothing more to add (releases and frees aside)."""
        if any(eni.ready_s > self.now for eni in self.enis):
            return False
        if self._pending and len(self._pod_address) < self.limits.max_pod_addresses and any(
                self._free_address(e) for e in self._ready()):
            return False
        # growing is blocked during the 120 s back-off, and also while EC2 refuses every loop without one
        # (InvalidParameterValue): ipamd keeps asking, but the pool does not change
        backoff = (self.now - self._last_insufficient <= INSUFFICIENT_ADDRESSES_BACKOFF_S
                   or self.now - self._last_refused < POOL_LOOP_S)
        d = pool_decision(self.counts(), self.limits, self.settings, backoff=backoff)
        if d.assign > 0 or d.attach > 0:
            return False
        if growth_only:
            return True
        if d.release > 0:
            return False
        ready = self._ready()
        could_free = deletable_enis([len(e.slots) for e in ready], [e.assigned for e in ready],
                                    [sum(u == 0 for u in e.slot_used) for e in ready], [0] * len(ready),
                                    [True] * len(ready), [e.is_primary for e in ready], self.limits, self.settings)
        return not (d.check_free_eni and could_free.any())

    # -- state ----------------------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """The node now, as one timeline row."""
        ready = self._ready()
        unit = self.limits.unit
        attached = sum(len(e.slots) for e in ready) * unit
        assigned = len(self._owner)
        return {
            "time_s": self.now, "pods_running": assigned, "pods_pending": len(self._pending), "enis": len(self.enis),
            "ips_attached": attached, "prefixes": sum(len(e.slots) for e in ready) if self.limits.prefix_mode else 0,
            "assigned": assigned, "available": attached - assigned, "cooldown": sum(self._cooling_by_eni().values()),
            "ec2_calls": sum(self.ec2_calls.values()), "failures": self.failures,
            "subnet_free": self.subnet.free_count,
        }

    def pod_addresses(self) -> dict[int, ipaddress.IPv4Address]:
        """Each running pod's address."""
        return {pod: ipaddress.IPv4Address(address) for pod, address in self._pod_address.items()}

    def pending_pods(self) -> list[int]:
        """Pods waiting for an address, oldest first."""
        return list(self._pending)

    def eni_table(self) -> pd.DataFrame:
        """One row per ENI: name, primary address, slots (addresses or prefixes), assigned, ready."""
        unit = self.limits.unit
        rows = []
        for eni in self.enis:
            slots = [ipaddress.IPv4Network((base, 32 - int(math.log2(unit)))) if self.limits.prefix_mode
                     else ipaddress.IPv4Address(base) for base in eni.slots]
            rows.append({"eni": eni.name, "primary_ip": ipaddress.IPv4Address(eni.primary), "slots": slots,
                         "pods_per_slot": list(eni.slot_used), "assigned": eni.assigned,
                         "ready": eni.ready_s <= self.now, "created_s": eni.created_s,
                         "subnet": str(eni.space.network)})
        return pd.DataFrame(rows)


def simulate(instance_type: str, schedule: Schedule, *, duration_s: float | None = None, subnet: Any = DEFAULT_SUBNET,
             pod_subnet: Any = None, used_addresses: Iterable[Any] = (), attach_delay_s: float = ENI_ATTACH_DELAY_S,
             **settings: Any) -> pd.DataFrame:
    """A timeline of ipamd's pool on one node at the 5 s loop, for a schedule of pod arrivals and departures.

    ``schedule``: ``(time_s, delta_pods)`` events (see :func:`ramp`, :func:`scale`, :func:`churn`); an event
    takes effect at the first loop at or after its time. ``duration_s`` defaults to 5 minutes after the last
    event. ``settings``: the fields of :class:`PoolSettings`. One row per loop: pods running and pending,
    ENIs, pod addresses attached (``prefixes`` in prefix mode), assigned, available, in cooldown, EC2 calls
    (cumulative), failed allocations, the subnet's free addresses and what happened (``event``).

    >>> from ekslib.ipam.schedules import ramp
    >>> timeline = simulate("t3.medium", ramp(6, every_s=5), duration_s=60)
    >>> timeline.iloc[-1][["pods_running", "enis", "ips_attached", "available", "ec2_calls"]].astype(int).tolist()
    [6, 3, 15, 9, 7]
    """
    events = schedule_events(schedule)
    sim = NodeSimulation(instance_type, subnet=subnet, pod_subnet=pod_subnet, used_addresses=used_addresses,
                         attach_delay_s=attach_delay_s, **settings)
    last = events[-1][0] if events else 0.0
    end = last + 300.0 if duration_s is None else float(duration_s)
    if not 0 <= end <= 7 * 24 * 3600:
        raise EkslibError(f"duration_s must be 0 to 604800 seconds (a week), not {duration_s}")
    rows, at = [], 0
    steps = int(end // POOL_LOOP_S)
    for k in range(steps + 1):
        t = k * POOL_LOOP_S
        sim.now = float(t)
        arrivals = 0
        while at < len(events) and events[at][0] <= t:     # departures first, then this loop's arrivals
            delta = events[at][1]
            if delta < 0:
                sim.remove_pods(-delta)
            else:
                arrivals += delta
            at += 1
        sim.add_pods(arrivals)
        sim.tick()
        row = sim.row()
        row["event"] = "; ".join(sim.take_events())
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update(instance_type=sim.limits.instance_type, settings=sim.settings, limits=sim.limits)
    return frame


