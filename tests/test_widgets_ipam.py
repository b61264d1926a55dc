"""The pool explorer, driven by setting widget values as a learner would (no browser needed)."""

from __future__ import annotations

import json

import pytest

from ekslib.ipam.published import PUBLISHED_PREFIX_ROWS, PUBLISHED_SECONDARY_IP_ROWS
from ekslib.ipam.steady import steady_state
from ekslib.widgets.ipam import PoolExplorer


def _figure(output) -> dict:
    return output.outputs[0]["data"]["application/vnd.plotly.v1+json"]


def test_starts_on_one_pod_of_a_fresh_t3_medium():
    explorer = PoolExplorer("t3.medium", pods=1)
    s = explorer.state
    assert (s.enis, s.ips, s.unused, s.per_eni) == (2, 10, 9, (5, 5))
    assert explorer.message.value == ""
    assert "addresses per ENI 5,5" in explorer.summary.value and "subnet addresses held by the node: 12" in \
        explorer.summary.value
    assert explorer.pods.max == 15  # 3 ENIs x 5 addresses
    title = _figure(explorer.chart)["layout"]["title"]["text"]
    assert title == "t3.medium with 1 pod: 2 ENIs, 10 pod addresses attached, 9 unused"
    json.dumps(_figure(explorer.chart))  # a renderable plotly bundle


def _set(explorer: PoolExplorer, instance_type: str, **values) -> None:
    explorer.instance_type.value = instance_type
    for name, value in values.items():
        getattr(explorer, name).value = value


@pytest.mark.parametrize("row", PUBLISHED_SECONDARY_IP_ROWS[:9], ids=lambda r: f"{r.pods}pods")
def test_reproduces_the_published_secondary_rows(row):
    explorer = PoolExplorer()
    _set(explorer, row.instance_type, warm_eni_target=row.warm_eni_target or 1,
         warm_ip_target=row.warm_ip_target or 0, minimum_ip_target=row.minimum_ip_target or 0, pods=row.pods)
    s = explorer.state
    assert (s.enis, s.ips, s.unused, sorted(s.per_eni)) == (row.enis, row.ips, row.unused_ips, sorted(row.per_eni))


def test_prefix_mode_moves_the_slider_end_and_reproduces_a_prefix_row():
    row = PUBLISHED_PREFIX_ROWS[4]  # t3.small, WARM_PREFIX_TARGET=1, 58 pods: prefixes 3,2, 22 unused
    explorer = PoolExplorer("t3.small", pods=0)
    assert explorer.pods.max == 9
    explorer.mode.value = True
    assert explorer.pods.max == 108  # kubelet max pods 110 (the calculator's ceiling) less 2 host-network pods
    explorer.pods.value = row.pods
    s = explorer.state
    assert (s.enis, s.prefixes, s.per_eni, s.unused) == (row.enis, row.prefixes, row.per_eni, row.unused_ips)
    assert "22 unused (1 empty of 5 prefixes)" in explorer.summary.value and "prefix mode" in explorer.summary.value


def test_a_smaller_type_or_max_eni_pulls_the_pod_count_down():
    explorer = PoolExplorer("m5.large", pods=27)
    explorer.instance_type.value = "t3.medium"
    assert (explorer.pods.max, explorer.pods.value, explorer.state.pods) == (15, 15, 15)
    explorer.max_eni.value = 1
    assert (explorer.pods.max, explorer.state.enis, explorer.state.ips) == (5, 1, 5)
    explorer.max_eni.value = 0  # 0 = unset, as ipamd reads MAX_ENI
    assert explorer.pods.max == 15 and explorer.state == steady_state("t3.medium", 5)


def test_warm_eni_target_zero_grows_only_when_the_pool_is_empty():
    explorer = PoolExplorer("t3.medium", pods=1)
    explorer.warm_eni_target.value = 0
    assert (explorer.state.enis, explorer.state.ips, explorer.state.unused) == (1, 5, 4)


def test_refuses_what_ipamd_refuses_with_its_reason_and_recovers():
    explorer = PoolExplorer("m5.large", pods=3)
    explorer.mode.value = True
    explorer.warm_prefix_target.value = 0
    assert explorer.state is None and explorer.summary.value == "" and explorer.chart.outputs == ()
    assert "WARM_PREFIX_TARGET = 0 is not supported" in explorer.message.value
    assert "Traceback" not in explorer.message.value
    explorer.warm_ip_target.value = 1  # an IP target makes WARM_PREFIX_TARGET=0 valid
    assert explorer.message.value == "" and explorer.state.prefixes == 1 and len(explorer.chart.outputs) == 1


def test_bad_type_shows_a_message_and_suggestions():
    explorer = PoolExplorer()
    explorer.instance_type.value = "m5.lage"
    assert explorer.state is None and "m5.large" in explorer.message.value
    explorer.instance_type.value = "m5.large"
    assert explorer.message.value == "" and explorer.pods.max == 27


def test_minimum_ip_target_alone_shows_the_waiting_pods():
    explorer = PoolExplorer("t3.small", pods=7)
    explorer.minimum_ip_target.value = 5
    s = explorer.state
    assert (s.ips, s.assigned, s.pending) == (5, 5, 2) and explorer.message.value == ""
    assert "2 of them wait for an address" in explorer.summary.value
    assert "MINIMUM_IP_TARGET=5 without WARM_IP_TARGET" in explorer.summary.value
    explorer.warm_ip_target.value = 1
    assert explorer.state.pending == 0 and "wait for an address" not in explorer.summary.value


def test_bare_metal_runs_in_prefix_mode():
    explorer = PoolExplorer("m5.metal", pods=20)
    explorer.mode.value = True
    assert explorer.state.limits.prefix_mode and explorer.state.per_eni == (3,)
    assert "bare metal: ipamd delegates prefixes" in explorer.summary.value
