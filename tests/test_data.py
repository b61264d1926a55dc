"""The data layer: the bundled snapshot against the reference facts, and the refresh end to end."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from ekslib.errors import EkslibError, RefreshError, UnknownInstanceTypeError
from ekslib.sources import instance_types as data
from tests.conftest import api_item

# ENIs on card 0 x IPv4 per ENI (and network cards), shared/reference/vpc-cni.md section 1.
REFERENCE_SHAPES = {
    "t3.nano": (2, 2, 1), "t3.small": (3, 4, 1), "t3.medium": (3, 6, 1), "t3.large": (3, 12, 1),
    "m5.large": (3, 10, 1), "m5.xlarge": (4, 15, 1), "m5.4xlarge": (8, 30, 1), "m5.24xlarge": (15, 50, 1),
    "p4d.24xlarge": (15, 50, 4), "p5.48xlarge": (2, 50, 32), "trn1.32xlarge": (5, 50, 8),
}


@pytest.mark.parametrize("name, shape", REFERENCE_SHAPES.items())
def test_snapshot_has_the_reference_network_shape(name, shape):
    t = data.instance_type_info(name)
    assert (t.enis, t.ipv4_per_eni, t.network_cards) == shape


def test_snapshot_provenance_matches_the_file():
    frame = data.load_instance_types()
    provenance = data.load_provenance()
    assert provenance["count"] == len(frame) > 1000
    assert "moto" in provenance["source"] and provenance["regions"]
    assert list(frame.index) == sorted(frame.index)
    assert frame.index.is_unique


def test_snapshot_fields_are_typed():
    t = data.instance_type_info("m5.metal")
    assert t.bare_metal is True and t.hypervisor == "" and not t.nitro
    assert data.instance_type_info("t2.micro").hypervisor == "xen"
    assert data.instance_type_info("t3.medium").burstable is True
    assert data.instance_type_info("p5.48xlarge").enis_total == 64


def test_lookup_is_forgiving_about_case_and_spaces():
    assert data.instance_type_info("  M5.Large ").instance_type == "m5.large"


def test_unknown_type_suggests_close_names():
    with pytest.raises(UnknownInstanceTypeError) as info:
        data.instance_type_info("m5.lage")
    assert info.value.suggestions[0] == "m5.large"
    assert "m5.lage" in str(info.value) and "m5.large" in str(info.value)


def test_load_returns_a_copy_so_a_lesson_cannot_poison_the_cache():
    first = data.load_instance_types()
    first.loc["t3.medium", "enis"] = 8  # the seed notes' slip
    assert data.load_instance_types().loc["t3.medium", "enis"] == 3


@pytest.mark.parametrize("name, expected", [
    ("c7i-flex.large", ("c7i-flex", "c", 7, "large")),
    ("u-6tb1.metal", ("u-6tb1", "u", 1, "metal")),
    ("p4de.24xlarge", ("p4de", "p", 4, "24xlarge")),
    ("mac2-m2pro.metal", ("mac2-m2pro", "mac", 2, "metal")),
])
def test_split_name(name, expected):
    assert data.split_name(name) == expected


def test_split_name_rejects_a_non_name():
    with pytest.raises(EkslibError, match="family.size"):
        data.split_name("large")


def test_sizes_in_natural_order_and_unknown_family():
    assert data.sizes_of("m5")[:3] == ["large", "xlarge", "2xlarge"]
    assert data.sizes_of("m5")[-1] == "metal"
    with pytest.raises(EkslibError, match="m5"):
        data.sizes_of("m55")


# --- refresh ----------------------------------------------------------------------------------------

def _stubbed_client(pages: list[list[dict]], region: str = "us-east-1"):
    client = boto3.client("ec2", region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for i, items in enumerate(pages):
        response = {"InstanceTypes": items}
        expected = {"MaxResults": 100}
        if i + 1 < len(pages):
            response["NextToken"] = f"page{i + 1}"
        if i:
            expected["NextToken"] = f"page{i}"
        stubber.add_response("describe_instance_types", response, expected)
    stubber.activate()
    return client, stubber


def test_refresh_follows_every_page(tmp_path):
    client, stubber = _stubbed_client([[api_item("t3.medium")], [api_item("m5.large", 3, 10)],
                                       [api_item("p5.48xlarge", 2, 50, vcpus=192, cards=[2] + [2] * 31)]])
    result = data.refresh_instance_types(client, path=tmp_path / "types.csv")
    stubber.assert_no_pending_responses()
    frame = data.load_instance_types(result.path)
    assert list(frame.index) == ["m5.large", "p5.48xlarge", "t3.medium"]
    assert frame.loc["p5.48xlarge", "enis"] == 2 and frame.loc["p5.48xlarge", "enis_total"] == 64
    assert result.provenance["regions"] == ["us-east-1"] and result.count == 3


def test_refresh_merges_regions_and_records_them(tmp_path):
    east, _ = _stubbed_client([[api_item("t3.medium"), api_item("m5.large", 3, 10)]], "us-east-1")
    tokyo, _ = _stubbed_client([[api_item("t3.medium"), api_item("c6in.32xlarge", 8, 50, cards=[8, 8])]],
                               "ap-northeast-1")
    clients = {"us-east-1": east, "ap-northeast-1": tokyo}
    result = data.refresh_instance_types(clients.__getitem__, ["us-east-1", "ap-northeast-1"],
                                         path=tmp_path / "t.csv", today=datetime.date(2026, 1, 2))
    assert result.count == 3
    provenance = json.loads(data.provenance_path(result.path).read_text())
    assert provenance == {**provenance, "regions": ["us-east-1", "ap-northeast-1"], "date": "2026-01-02", "count": 3}


def _snapshot(path: Path, names: list[str]) -> None:
    client, _ = _stubbed_client([[api_item(n) for n in names]])
    data.refresh_instance_types(client, path=path)


def test_refresh_refuses_an_empty_answer_and_keeps_the_snapshot(tmp_path):
    path = tmp_path / "t.csv"
    _snapshot(path, ["t3.medium", "t3.large"])
    before = path.read_bytes()
    client, _ = _stubbed_client([[]])
    with pytest.raises(RefreshError, match="no instance types"):
        data.refresh_instance_types(client, path=path)
    assert path.read_bytes() == before


def test_refresh_refuses_a_partial_answer_unless_forced(tmp_path):
    path = tmp_path / "t.csv"
    _snapshot(path, [f"m5.{n}xlarge" for n in range(2, 22)])
    before = path.read_bytes()
    client, _ = _stubbed_client([[api_item("m5.2xlarge")]])
    with pytest.raises(RefreshError, match="partial"):
        data.refresh_instance_types(client, path=path)
    assert path.read_bytes() == before
    client, _ = _stubbed_client([[api_item("m5.2xlarge")]])
    assert data.refresh_instance_types(client, path=path, force=True).count == 1


def test_refresh_refuses_items_missing_network_info(tmp_path):
    broken = api_item("x9.large")
    del broken["NetworkInfo"]["Ipv4AddressesPerInterface"]
    client, _ = _stubbed_client([[api_item("t3.medium"), broken]])
    with pytest.raises(RefreshError, match="x9.large"):
        data.refresh_instance_types(client, path=tmp_path / "t.csv")
    assert not (tmp_path / "t.csv").exists()


def test_refresh_that_fails_midway_leaves_no_file_and_no_temporary(tmp_path):
    path = tmp_path / "t.csv"
    _snapshot(path, ["t3.medium"])
    before = path.read_bytes()
    client, stubber = _stubbed_client([])
    stubber.add_response("describe_instance_types", {"InstanceTypes": [api_item("t3.large")], "NextToken": "a"},
                         {"MaxResults": 100})
    stubber.add_client_error("describe_instance_types", "RequestLimitExceeded")  # throttled on page 2
    with pytest.raises(Exception, match="RequestLimitExceeded"):
        data.refresh_instance_types(client, path=path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.provenance.json"]


def test_write_is_atomic_rename(tmp_path, monkeypatch):
    """The snapshot is replaced by os.replace of a finished temporary file, never written in place."""
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    seen = []
    real_replace = data.os.replace

    def spy(src, dst):
        seen.append((Path(src).read_text(), Path(dst).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(data.os, "replace", spy)
    data._write_atomically(path, "new\n")
    assert seen == [("new\n", "old\n")] and path.read_text() == "new\n"


def test_refresh_end_to_end_against_moto(tmp_path):
    """The real boto3 code path against moto's EC2, which serves AWS's published catalogue."""
    result = data.snapshot_from_moto(tmp_path / "types.csv", regions=["us-east-1"])
    frame = data.load_instance_types(result.path)
    assert result.count == len(frame) > 1000
    assert "moto" in result.provenance["source"]
    bundled = data.load_instance_types()
    shared = frame.index.intersection(bundled.index)
    assert len(shared) > 0.95 * len(bundled)
    columns = ["enis", "ipv4_per_eni", "network_cards", "hypervisor", "vcpus"]
    assert frame.loc[shared, columns].equals(bundled.loc[shared, columns])
