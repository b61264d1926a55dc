"""The capacity explorer, driven by setting widget values as a learner would (no browser needed)."""

from __future__ import annotations

import json

from ekslib.capacity import explain_max_pods
from ekslib.widgets.capacity import CapacityExplorer


def _figure_json(output) -> dict:
    return output.outputs[0]["data"]["application/vnd.plotly.v1+json"]


def test_starts_on_the_seed_example():
    explorer = CapacityExplorer("t3.medium")
    assert explorer.explanation.max_pods == 17
    assert "3 x (6 - 1) + 2 = 17" in explorer.derivation.value
    assert explorer.message.value == ""
    assert len(explorer.derivation_chart.outputs) == 1 and len(explorer.family_chart.outputs) == 1
    json.dumps(_figure_json(explorer.derivation_chart))  # a renderable plotly bundle


def test_each_setting_changes_the_number_as_the_model_says():
    explorer = CapacityExplorer("m5.large")
    explorer.custom_networking.value = True
    assert explorer.explanation.max_pods == 20
    explorer.custom_networking.value = False
    explorer.prefix_delegation.value = True
    assert explorer.explanation.max_pods == 434
    explorer.ceiling.value = True
    assert explorer.explanation.max_pods == 110
    explorer.cni_version.value = "1.8.0"
    assert explorer.explanation.max_pods == 29
    explorer.max_eni.value = 2
    assert explorer.explanation == explain_max_pods("m5.large", cni_version="1.8.0", prefix_delegation=True,
                                                    ceiling=True, max_eni=2)
    explorer.max_eni.value = 0  # 0 = unset, as ipamd reads MAX_ENI
    assert explorer.explanation.enis_for_pods == 3
    explorer.security_groups_for_pods.value = True
    assert explorer.explanation.enis_for_pods == 2 and "branch ENIs" in explorer.derivation.value


def test_typing_a_name_moves_the_dropdowns_and_choosing_a_family_resets_the_size():
    explorer = CapacityExplorer()
    explorer.name.value = "p5.48xlarge"
    assert (explorer.family.value, explorer.size.value, explorer.explanation.max_pods) == ("p5", "48xlarge", 100)
    explorer.family.value = "m5"
    assert explorer.size.value == "large" and explorer.name.value == "m5.large"
    assert explorer.explanation.max_pods == 29
    assert "m5" in json.dumps(_figure_json(explorer.family_chart)["layout"]["title"])


def test_bad_input_shows_a_message_not_a_traceback():
    explorer = CapacityExplorer()
    explorer.name.value = "m5.lage"
    assert "m5.large" in explorer.message.value and "Traceback" not in explorer.message.value
    assert explorer.explanation is None
    explorer.name.value = "m5.large"
    assert explorer.message.value == "" and explorer.explanation.max_pods == 29
    explorer.cni_version.value = "one.two"
    assert "malformed CNI version" in explorer.message.value and explorer.explanation is None
    explorer.cni_version.value = "1.23.1"
    assert explorer.explanation.max_pods == 29


def test_a_type_only_the_cni_table_knows():
    explorer = CapacityExplorer("p3.16xlarge")
    assert explorer.explanation.max_pods == 234 and explorer.message.value == ""
    assert "known only to the VPC CNI" in explorer.derivation.value
    assert len(explorer.family_chart.outputs) == 1  # the p3 family chart draws without vCPUs
    explorer.ceiling.value = True  # raw 234 > 110 and no vCPUs: a message, not a traceback
    assert explorer.explanation is None
    assert "refresh-data --live" in explorer.message.value and "Traceback" not in explorer.message.value
    explorer.size.value = "2xlarge"  # raw 58: the ceiling does not matter
    assert explorer.explanation.max_pods == 58 and explorer.message.value == ""
