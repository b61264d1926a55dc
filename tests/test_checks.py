"""The shared input checks: each returns the clean value or names the bad one and what is valid."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import numpy as np
import pytest

from ekslib._checks import ceil_div, is_whole, parse_ipv4, parse_ipv4_network, parse_subnet, whole
from ekslib.errors import EkslibError


@pytest.mark.parametrize("value", [True, False, 1.0, "3", None, np.float64(2)])
def test_whole_refuses_what_is_not_a_whole_number(value):
    with pytest.raises(EkslibError, match=r"n must be a whole number, not"):
        whole("n", value)


def test_whole_checks_the_minimum_and_names_the_alternatives():
    assert whole("n", np.int64(3), minimum=0) == 3 and type(whole("n", np.int64(3))) is int
    with pytest.raises(EkslibError, match=r"pods must be 'max' or a whole number >= 0 or None, not -1"):
        whole("pods", -1, minimum=0, also="'max'", allow_none=True)
    assert is_whole(np.int32(1)) and not is_whole(True)


def test_ceil_div_on_scalars_and_arrays():
    assert int(ceil_div(0, 16)) == 0 and int(ceil_div(16, 16)) == 1 and int(ceil_div(17, 16)) == 2
    assert ceil_div(np.arange(0, 49, 16), 16).tolist() == [0, 1, 2, 3]


def test_addresses_and_networks():
    assert parse_ipv4("10.0.0.1", "x") == IPv4Address("10.0.0.1")
    assert parse_ipv4_network("10.0.0.0/24", "x") == IPv4Network("10.0.0.0/24")
    for bad in (True, "10.0.0.256", "fd00::1", None):
        with pytest.raises(EkslibError, match="node n: status.hostIP .* is not an IPv4 address"):
            parse_ipv4(bad, "node n: status.hostIP")
    with pytest.raises(EkslibError, match="IPv6 clusters are not modelled"):
        parse_ipv4("fd00::1", "pod")
    with pytest.raises(EkslibError, match="is not an IPv4 CIDR"):
        parse_ipv4_network("10.0.0.1/24", "subnet")


@pytest.mark.parametrize("cidr, message", [("10.0.0.0/15", "a VPC subnet is /16 to /28"),
                                           ("10.0.0.0/29", "a VPC subnet is /16 to /28"),
                                           ("10.0.0.1/24", "did you mean 10.0.0.0/24"),
                                           ("nonsense", "is not an IPv4 subnet CIDR")])
def test_parse_subnet_refuses_what_a_vpc_cannot_have(cidr, message):
    with pytest.raises(EkslibError, match=message):
        parse_subnet(cidr)
