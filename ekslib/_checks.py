"""Input checks shared by every layer: whole numbers, ceiling division, IPv4 addresses and CIDRs.

Each check returns the clean value or raises :class:`~ekslib.errors.EkslibError` naming the bad value, where
it came from and what is valid.

>>> whole("nodes", 3, minimum=0)
3
>>> whole("nodes", -1, minimum=0)
Traceback (most recent call last):
...
ekslib.errors.EkslibError: nodes must be a whole number >= 0, not -1
>>> int(ceil_div(17, 16))
2
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import numpy as np

from ekslib.errors import EkslibError
from ekslib.facts import LARGEST_SUBNET, SMALLEST_SUBNET


def is_whole(value: Any) -> bool:
    """True for an int (or numpy integer), False for bools, floats, strings and None.

    >>> is_whole(2), is_whole(True), is_whole(2.0)
    (True, False, False)
    """
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def whole(name: str, value: Any, *, minimum: int | None = None, allow_none: bool = False,
          also: str = "") -> int | None:
    """``value`` as an int when it is a whole number (>= ``minimum``), else an EkslibError naming ``name``.

    ``allow_none`` lets None through; ``also`` names another accepted value in the message (e.g. "'max'").

    >>> whole("MAX_ENI", None, allow_none=True) is None
    True
    >>> whole("pods_per_node", "lots", minimum=0, also="'max'")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: pods_per_node must be 'max' or a whole number >= 0, not 'lots'
    """
    if value is None and allow_none:
        return None
    if not is_whole(value) or (minimum is not None and value < minimum):
        valid = "a whole number" + (f" >= {minimum}" if minimum is not None else "")
        valid = f"{also} or {valid}" if also else valid
        valid += " or None" if allow_none else ""
        raise EkslibError(f"{name} must be {valid}, not {value!r}")
    return int(value)


def ceil_div(x: Any, y: int) -> Any:
    """``ceil(x / y)`` for whole numbers or numpy arrays of them, without floats.

    >>> ceil_div(np.array([0, 1, 16, 17]), 16).tolist()
    [0, 1, 1, 2]
    """
    return -(-np.asarray(x) // y)


def parse_ipv4(value: Any, where: str) -> IPv4Address:
    """``value`` as an IPv4 address, or an EkslibError naming ``where`` (object and field).

    >>> parse_ipv4("10.0.1.999", "pod kube-system/coredns-abc: status.podIP")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: pod kube-system/coredns-abc: status.podIP '10.0.1.999' is not an IPv4 address
    """
    try:
        if isinstance(value, bool):  # IPv4Address(True) would be 0.0.0.1
            raise TypeError(value)
        return IPv4Address(value)
    except (ipaddress.AddressValueError, ValueError, TypeError):
        hint = " (IPv6 clusters are not modelled)" if isinstance(value, str) and ":" in value else ""
        raise EkslibError(f"{where} {value!r} is not an IPv4 address{hint}") from None


def parse_ipv4_network(value: Any, where: str) -> IPv4Network:
    """``value`` as an IPv4 CIDR (host bits must be zero), or an EkslibError naming ``where``.

    >>> str(parse_ipv4_network("192.168.96.0/19", "subnet"))
    '192.168.96.0/19'
    """
    try:
        if isinstance(value, bool):
            raise TypeError(value)
        return IPv4Network(value)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError, TypeError):
        raise EkslibError(f"{where} {value!r} is not an IPv4 CIDR such as '192.168.96.0/19'") from None


def parse_subnet(cidr: Any) -> IPv4Network:
    """``cidr`` as an IPv4 network, refusing host bits, IPv6 and sizes a VPC subnet cannot have.

    Source: Amazon VPC User Guide, "Subnet CIDR blocks" (/16 to /28).

    >>> parse_subnet("10.0.32.0/19")
    IPv4Network('10.0.32.0/19')
    >>> parse_subnet("10.0.0.1/24")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: '10.0.0.1/24' is not a network: its host bits are set (did you mean 10.0.0.0/24?)
    """
    if isinstance(cidr, IPv4Network):
        network = cidr
    else:
        try:
            network = IPv4Network(str(cidr), strict=True)
        except ValueError as exc:
            if "host bits set" in str(exc):
                loose = IPv4Network(str(cidr), strict=False)
                raise EkslibError(f"{cidr!r} is not a network: its host bits are set (did you mean {loose}?)") from None
            raise EkslibError(f"{cidr!r} is not an IPv4 subnet CIDR such as '10.0.0.0/24'") from None
    if not LARGEST_SUBNET <= network.prefixlen <= SMALLEST_SUBNET:
        raise EkslibError(f"subnet {network} is /{network.prefixlen}: a VPC subnet is /{LARGEST_SUBNET} to "
                          f"/{SMALLEST_SUBNET} (Amazon VPC User Guide, 'Subnet CIDR blocks')")
    return network
