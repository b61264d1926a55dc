"""Shared fixtures: small EC2 answers built by hand, and a temporary snapshot path."""

from __future__ import annotations

from typing import Any

import pytest


def api_item(name: str, enis: int = 3, ipv4: int = 6, *, vcpus: int = 2, hypervisor: str | None = "nitro",
             cards: list[int] | None = None) -> dict[str, Any]:
    """One DescribeInstanceTypes item with the fields the snapshot keeps (cards: ENIs per card)."""
    cards = cards or [enis]
    item: dict[str, Any] = {
        "InstanceType": name,
        "CurrentGeneration": True,
        "BareMetal": hypervisor is None,
        "BurstablePerformanceSupported": name.startswith("t"),
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": {"DefaultVCpus": vcpus},
        "MemoryInfo": {"SizeInMiB": 4096},
        "NetworkInfo": {
            "NetworkPerformance": "Up to 5 Gigabit",
            "MaximumNetworkInterfaces": sum(cards),
            "MaximumNetworkCards": len(cards),
            "DefaultNetworkCardIndex": 0,
            "NetworkCards": [{"NetworkCardIndex": i, "MaximumNetworkInterfaces": n} for i, n in enumerate(cards)],
            "Ipv4AddressesPerInterface": ipv4,
            "Ipv6AddressesPerInterface": ipv4,
            "Ipv6Supported": True,
        },
    }
    if hypervisor:
        item["Hypervisor"] = hypervisor
    return item


@pytest.fixture
def make_item():
    return api_item
