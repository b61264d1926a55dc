"""VPC subnets as the VPC CNI sees them: addresses, aligned /28 prefixes, and when a cluster runs out.

Facts, with their public sources:

* AWS reserves five addresses of every subnet: the first four (network address, VPC router, DNS, future
  use) and the last one (Amazon VPC User Guide, "Subnet CIDR blocks"). A subnet is /16 to /28 (same page).
* A delegated IPv4 prefix is an aligned /28 (16 addresses) of the ENI's subnet; EC2 answers
  ``InsufficientCidrBlocks`` when no aligned /28 is wholly free, even if the subnet has free addresses
  (Amazon EC2 User Guide, "Assign prefixes to network interfaces"; VPC CNI issues #2749, #3105; the fix AWS
  recommends is a subnet CIDR reservation for prefixes). Out of plain addresses it answers
  ``InsufficientFreeAddressesInSubnet``; ipamd then backs off 120 s (github.com/aws/amazon-vpc-cni-k8s
  ``pkg/ipamd/ipamd.go``, ``insufficientCidrErrorCooldown``).

* :func:`ekslib._checks.parse_subnet` refuses what cannot be a VPC subnet.

>>> space = SubnetSpace("10.0.0.0/28")
>>> space.free_count, [str(a) for a in space.reserved]
(11, ['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.15'])
>>> len(free_prefixes("10.0.0.0/24", [])), len(free_prefixes(*fragmented_subnet("10.0.0.0/24")))
(14, 0)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from ekslib._checks import parse_ipv4, parse_subnet, whole
from ekslib.errors import EkslibError
from ekslib.facts import IPS_PER_PREFIX, PREFIX_LENGTH, RESERVED_AT_END, RESERVED_AT_START


def usable_addresses(cidr: Any) -> int:
    """Addresses of a subnet that EC2 can hand out: its size less the 5 AWS reserves.

    >>> usable_addresses("10.0.0.0/24"), usable_addresses("10.0.0.0/19")
    (251, 8187)
    """
    return parse_subnet(cidr).num_addresses - RESERVED_AT_START - RESERVED_AT_END


class SubnetSpace:
    """The addresses of one subnet as EC2 hands them out to ENIs: single addresses and aligned /28 prefixes.

    ``used`` marks addresses already taken by something else. EC2 chooses addresses itself; this model
    hands them out next-fit (each search starts after the last address given), a deterministic stand-in that,
    like EC2, does not give a just-released address straight back.

    >>> space = SubnetSpace("10.0.0.0/24", used=["10.0.0.20"])
    >>> str(space.allocate_address()), str(space.allocate_prefix())
    ('10.0.0.4', '10.0.0.32/28')
    >>> space.free_count
    233
    """

    def __init__(self, cidr: Any, used: Iterable[Any] = ()):
        self.network = parse_subnet(cidr)
        self._base = int(self.network.network_address)
        size = self.network.num_addresses
        self._used = bytearray(size)
        for offset in (*range(RESERVED_AT_START), size - 1):
            self._used[offset] = 1
        self._free = size - RESERVED_AT_START - RESERVED_AT_END
        for address in used:
            offset = self._offset(address)
            if not self._used[offset]:
                self._used[offset] = 1
                self._free -= 1
        self._cursor = RESERVED_AT_START
        self._prefix_cursor = 0

    def _offset(self, address: Any) -> int:
        value = int(parse_ipv4(address if isinstance(address, (int, ipaddress.IPv4Address)) else str(address),
                               f"subnet {self.network}: address"))
        offset = value - self._base
        if not 0 <= offset < len(self._used):
            raise EkslibError(f"address {ipaddress.IPv4Address(value)} is not in subnet {self.network}")
        return offset

    @property
    def reserved(self) -> list[ipaddress.IPv4Address]:
        """The five addresses AWS reserves in this subnet."""
        size = self.network.num_addresses
        return [ipaddress.IPv4Address(self._base + i) for i in (*range(RESERVED_AT_START), size - 1)]

    @property
    def free_count(self) -> int:
        """Addresses still free."""
        return self._free

    def is_free(self, address: Any) -> bool:
        """True when ``address`` is neither reserved nor in use."""
        return not self._used[self._offset(address)]

    def allocate_address_int(self) -> int | None:
        """The next free address as an integer, or None when the subnet is full (fast path for simulations)."""
        if self._free == 0:
            return None
        size = len(self._used)
        at = self._used.find(0, self._cursor)
        if at < 0:
            at = self._used.find(0, 0, self._cursor)
        self._used[at] = 1
        self._free -= 1
        self._cursor = (at + 1) % size
        return self._base + at

    def allocate_prefix_int(self) -> int | None:
        """The first address of the next wholly free aligned /28 as an integer, or None (InsufficientCidrBlocks)."""
        blocks = len(self._used) // IPS_PER_PREFIX
        empty = bytes(IPS_PER_PREFIX)
        for step in range(blocks):
            block = (self._prefix_cursor + step) % blocks
            start = block * IPS_PER_PREFIX
            if self._used[start:start + IPS_PER_PREFIX] == empty:
                self._used[start:start + IPS_PER_PREFIX] = b"\x01" * IPS_PER_PREFIX
                self._free -= IPS_PER_PREFIX
                self._prefix_cursor = (block + 1) % blocks
                return self._base + start
        return None

    def allocate_address(self) -> ipaddress.IPv4Address | None:
        """The next free address, or None when the subnet is full (EC2: InsufficientFreeAddressesInSubnet)."""
        value = self.allocate_address_int()
        return None if value is None else ipaddress.IPv4Address(value)

    def allocate_prefix(self) -> ipaddress.IPv4Network | None:
        """The next wholly free aligned /28, or None (EC2: InsufficientCidrBlocks)."""
        value = self.allocate_prefix_int()
        return None if value is None else ipaddress.IPv4Network((value, PREFIX_LENGTH))

    def release_int(self, first: int, count: int = 1) -> None:
        """Give back ``count`` addresses from integer address ``first`` (1: an address; 16: a prefix)."""
        start = first - self._base
        for offset in range(start, start + count):
            if not self._used[offset]:
                raise EkslibError(f"address {ipaddress.IPv4Address(self._base + offset)} was not in use")
            self._used[offset] = 0
        self._free += count

    def release(self, item: ipaddress.IPv4Address | ipaddress.IPv4Network | str) -> None:
        """Give back an address or a /28 prefix."""
        if isinstance(item, ipaddress.IPv4Network) or "/" in str(item):
            network = ipaddress.IPv4Network(str(item))
            self.release_int(int(network.network_address), network.num_addresses)
        else:
            self.release_int(self._base + self._offset(item))

    def free_prefixes(self) -> list[ipaddress.IPv4Network]:
        """Every wholly free aligned /28 of the subnet, in address order."""
        empty = bytes(IPS_PER_PREFIX)
        return [ipaddress.IPv4Network((self._base + start, PREFIX_LENGTH))
                for start in range(0, len(self._used), IPS_PER_PREFIX)
                if self._used[start:start + IPS_PER_PREFIX] == empty]


def free_prefixes(subnet_cidr: Any, used_addresses: Iterable[Any]) -> list[ipaddress.IPv4Network]:
    """The free, aligned /28 blocks of a subnet, given the addresses in use (the 5 AWS reserves count as used).

    This is what prefix delegation can still get: a /28 with a single used address in it is lost to prefixes.
    Source: Amazon VPC User Guide "Subnet CIDR blocks" (reserved addresses); EC2 User Guide "Assign prefixes
    to network interfaces" (prefixes are aligned /28s of the subnet).

    >>> [str(p) for p in free_prefixes("10.0.0.0/26", ["10.0.0.17"])]
    ['10.0.0.32/28']
    """
    return SubnetSpace(subnet_cidr, used_addresses).free_prefixes()


def fragmented_subnet(cidr: Any = "10.0.0.0/24", offset: int = 8) -> tuple[ipaddress.IPv4Network,
                                                                            list[ipaddress.IPv4Address]]:
    """A subnet with plenty of free addresses and not one free aligned /28: ``(subnet, used addresses)``.

    One address is in use at ``offset`` inside every /28 (as scattered pod and node addresses leave a
    subnet after months of churn), so EC2 answers ``InsufficientCidrBlocks`` to a prefix request even
    though most of the subnet is free: the VPC CNI pain point of issues #2749 and #3105.

    >>> subnet, used = fragmented_subnet("10.0.0.0/24")
    >>> space = SubnetSpace(subnet, used)
    >>> space.free_count, len(space.free_prefixes()), space.allocate_prefix()
    (235, 0, None)
    """
    network = parse_subnet(cidr)
    if not 0 <= whole("offset", offset, minimum=0) < IPS_PER_PREFIX:
        raise EkslibError(f"offset {offset} is not inside a /28: choose 0 to {IPS_PER_PREFIX - 1}")
    space = SubnetSpace(network)
    used = []
    for start in range(0, network.num_addresses, IPS_PER_PREFIX):
        address = network.network_address + start + offset
        if space.is_free(address):
            used.append(address)
    return network, used


