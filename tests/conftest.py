"""Shared fixtures: small EC2 answers built by hand, and a temporary snapshot path; the static site's build in
the background of ``pytest -n`` (tests/site_check.py)."""

from __future__ import annotations

import gc
import threading
import uuid
from typing import Any

import pytest

#: This session's id, handed to the xdist workers so that they read the result of this session's site build.
_SITE_RUN = uuid.uuid4().hex
_site_build: threading.Thread | None = None


def pytest_configure(config) -> None:
    """Every test process (controller and workers) collects garbage less often than CPython's default.

    A test process keeps a large heap alive for the whole session (pandas, plotly, moto's EC2 catalogue, cached
    clusters: over a million objects), and the default thresholds (700, 10, 10) make the collector walk it again
    and again: measured in one process, 7.7 s of the unit tests' 43 s went to it. Less often, and with what is alive
    once the tests are collected frozen out of its walks (:func:`pytest_collection_finish`), the same run takes
    34 s. It changes no behaviour under test: what the tests drop is still freed (cycles by a later collection),
    and an error raised in a finalizer is still reported with the test during which it was raised.
    """
    gc.set_threshold(100_000, 50, 100)


def pytest_collection_finish(session) -> None:
    """The modules and the collected tests live until the process ends: the collector need not walk them."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller, as it starts each worker."""
    from tests.site_check import RUN_KEY

    node.workerinput[RUN_KEY] = _SITE_RUN


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    """xdist controller: once a worker has collected the notebook tests, build the site in the background here
    (this process only waits for reports), so that no worker waits for the notebooks while they run."""
    global _site_build
    if _site_build is None and any(i.startswith("tests/test_collection.py::") for i in ids):
        from tests.site_check import build_in_background

        _site_build = build_in_background(_SITE_RUN)


def pytest_collection_modifyitems(items) -> None:
    """The notebook tests last: by then the background build has finished (xdist hands out tests in this order)."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/test_collection.py::"))


def pytest_sessionfinish(session) -> None:
    """Wait for the background site build; then freeze the heap, so that the process ends at once.

    A worker's last act was two full walks of its heap (pytest's sweep for errors in finalizers, then Python's
    own as it exits): 4.6 s on one core while the other had nothing left to do. Frozen, the heap is skipped by
    both. What is lost is only that last sweep: an error raised in a finalizer during the tests is still reported
    with the test that raised it.
    """
    if _site_build is not None:
        _site_build.join(timeout=600)
    gc.freeze()


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
