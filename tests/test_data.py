"""The data layer: the bundled snapshot and the VPC CNI's table, merged, against the reference facts; the refresh."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from ekslib.errors import EkslibError, RefreshError, UnknownInstanceTypeError
from ekslib.sources import instance_types as data
from ekslib.sources import published
from ekslib.sources.paths import PUBLISHED_DIR
from tests.conftest import api_item

# ENIs on card 0 x IPv4 per ENI (and network cards), the VPC CNI's limits table (pkg/vpc/vpc_ip_resource_limit.go).
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
    frame = data.load_ec2_snapshot()
    provenance = data.load_provenance()
    assert provenance["count"] == len(frame) > 1000
    assert "moto" in provenance["source"] and provenance["regions"]
    assert list(frame.index) == sorted(frame.index)
    assert frame.index.is_unique
    assert list(frame.columns) == list(data.SNAPSHOT_COLUMNS)


def test_snapshot_fields_are_typed():
    t = data.instance_type_info("m5.metal")
    assert t.bare_metal is True and t.hypervisor == "" and not t.nitro
    assert data.instance_type_info("t2.micro").hypervisor == "xen"
    assert data.instance_type_info("t3.medium").burstable is True
    assert data.instance_type_info("p5.48xlarge").enis_total == 64
    m5 = data.instance_type_info("m5.large")
    assert (type(m5.vcpus), type(m5.enis), type(m5.ipv6_supported), type(m5.architectures)) == (int, int, bool, str)


# --- the merge: EC2's snapshot and the VPC CNI's limits table ----------------------------------------------

@pytest.fixture(scope="module")
def merged():
    return data.load_instance_types()


def test_merge_has_every_type_of_either_source(merged):
    ec2, cni = data.load_ec2_snapshot(), published.load_cni_limits()
    assert set(merged.index) == set(ec2.index) | set(cni.index)
    assert list(merged.index) == sorted(merged.index) and merged.index.is_unique
    assert list(merged.columns) == list(data.COLUMNS) and merged.columns[-1] == "source"
    counts = merged["source"].value_counts().to_dict()
    assert counts == {"both": len(set(ec2.index) & set(cni.index)),
                      "vpc-cni only": len(set(cni.index) - set(ec2.index)),
                      "ec2 only": len(set(ec2.index) - set(cni.index))}
    assert counts["vpc-cni only"] == 23 and counts["ec2 only"] == 27


@pytest.mark.parametrize("name, source", [
    ("m5.large", "both"), ("p3.2xlarge", "vpc-cni only"), ("g4ad.xlarge", "vpc-cni only"),
    ("u-6tb1.metal", "vpc-cni only"), ("r9g.large", "ec2 only"), ("t8i.nano", "ec2 only"),
    ("trn2u.48xlarge", "ec2 only"),
])
def test_source_column(merged, name, source):
    assert merged.loc[name, "source"] == source == data.instance_type_info(name).source


def test_a_type_only_the_cni_table_knows(merged):
    row = merged.loc["p3.2xlarge"]
    assert (row.family, row.category, row.generation, row["size"]) == ("p3", "p", 3, "2xlarge")
    assert (row.enis, row.enis_total, row.network_cards, row.ipv4_per_eni, row.hypervisor) == (4, 4, 1, 15, "xen")
    assert not row.bare_metal
    for column in data.EC2_ONLY_FIELDS:
        assert row[column] is pd.NA, column
    t = data.instance_type_info("p3.2xlarge")
    assert all(getattr(t, column) is None for column in data.EC2_ONLY_FIELDS)
    metal = data.instance_type_info("u-6tb1.metal")
    assert metal.bare_metal and metal.hypervisor == ""  # the CNI table's 'unknown', spelled as EC2 spells it


def test_a_type_only_ec2_knows(merged):
    row = merged.loc["trn2u.48xlarge"]
    ec2 = data.load_ec2_snapshot().loc["trn2u.48xlarge"]
    assert row[list(data.SNAPSHOT_COLUMNS)].tolist() == ec2.tolist()
    assert (row.enis, row.enis_total, row.network_cards) == (2, 32, 16)


def test_nullable_dtypes(merged):
    expected = {"vcpus": "Int64", "memory_mib": "Int64", "ipv6_per_eni": "Int64", "ipv6_supported": "boolean",
                "current_generation": "boolean", "burstable": "boolean", "network_performance": "string",
                "architectures": "string", "enis": "int64", "enis_total": "int64", "ipv4_per_eni": "int64",
                "generation": "int64", "bare_metal": "bool"}
    assert {name: str(merged[name].dtype) for name in expected} == expected
    missing = merged["vcpus"].isna()
    assert (merged.loc[missing, "source"] == "vpc-cni only").all() and missing.sum() == 23
    network = list(data.NETWORK_FIELDS)
    assert not merged[network].isna().any().any()


def test_network_fields_come_from_the_cni_table_where_it_knows_the_type(merged):
    cni = published.load_cni_limits()
    both = merged.loc[cni.index]
    assert (both["enis"] == cni["card0_enis"]).all() and (both["enis"] == cni["eni_limit"]).all()
    assert (both["ipv4_per_eni"] == cni["ipv4_limit"]).all()
    assert (both["network_cards"] == cni["network_cards"]).all()
    totals = cni["enis_per_card"].map(lambda text: sum(map(int, text.split(";"))))
    assert (both["enis_total"] == totals).all()
    assert (both["hypervisor"] == cni["hypervisor"].replace({"unknown": ""})).all()
    # the four types moto's copy of EC2 gets wrong take the VPC CNI's one card
    i7ie = data.instance_type_info("i7ie.48xlarge")
    assert (i7ie.enis, i7ie.enis_total, i7ie.network_cards, i7ie.vcpus) == (15, 15, 1, 192)


def test_source_differences_lists_the_disagreements_field_by_field():
    diff = data.source_differences()
    assert list(diff.columns) == ["ec2", "vpc_cni"] and diff.index.names == ["instance_type", "field"]
    cards = {(name, field) for name in ("i7ie.48xlarge", "i7ie.metal-48xl", "i8ge.48xlarge", "i8ge.metal-48xl")
             for field in ("enis", "network_cards")}
    # and one the brief did not list: moto reports no hypervisor for c7g.metal, the CNI table says nitro
    assert set(diff.index) == cards | {("c7g.metal", "hypervisor")}
    assert diff.loc[("i7ie.48xlarge", "enis")].tolist() == [8, 15]
    assert diff.loc[("i8ge.metal-48xl", "network_cards")].tolist() == [2, 1]
    assert diff.loc[("c7g.metal", "hypervisor")].tolist() == ["", "nitro"]
    # 'unknown' (CNI) and '' (EC2) are the same fact: no row for m5.metal
    assert "m5.metal" not in diff.index.get_level_values(0)


def test_cached_load_returns_a_copy(merged):
    frame = data.load_instance_types()
    frame.loc["p3.2xlarge", "vcpus"] = 8
    frame.loc["m5.large", "enis"] = 99
    again = data.load_instance_types()
    assert again.loc["p3.2xlarge", "vcpus"] is pd.NA and again.loc["m5.large", "enis"] == 3
    assert again is not data.load_instance_types()
    ec2 = data.load_ec2_snapshot()
    ec2.loc["m5.large", "enis"] = 99
    assert data.load_ec2_snapshot().loc["m5.large", "enis"] == 3


def test_merge_of_a_small_snapshot_with_the_cni_table(tmp_path):
    client, _ = _stubbed_client([[api_item("m5.large", 3, 10, vcpus=2), api_item("x9.large", 4, 12, vcpus=4)]])
    path = tmp_path / "t.csv"
    data.refresh_instance_types(client, path=path)
    frame = data.load_instance_types(path)
    assert frame.loc["x9.large", "source"] == "ec2 only" and frame.loc["m5.large", "source"] == "both"
    assert frame.loc["p3.2xlarge", "source"] == "vpc-cni only"
    assert frame.loc["t3.medium", "source"] == "vpc-cni only" and frame.loc["t3.medium", "vcpus"] is pd.NA
    assert data.instance_type_info("x9.large", path).enis == 4
    assert len(frame) == len(published.load_cni_limits()) + 1


def test_missing_cni_table_names_the_file(monkeypatch, tmp_path):
    shutil.copy(PUBLISHED_DIR / "provenance.json", tmp_path / "provenance.json")
    monkeypatch.setattr(published, "PUBLISHED_DIR", tmp_path)
    with pytest.raises(EkslibError, match=r"vpc_ip_resource_limit.csv.*make_published.py"):
        data.load_instance_types()


def test_lookup_is_forgiving_about_case_and_spaces():
    assert data.instance_type_info("  M5.Large ").instance_type == "m5.large"


def test_unknown_type_suggests_close_names():
    with pytest.raises(UnknownInstanceTypeError) as info:
        data.instance_type_info("m5.lage")
    assert info.value.suggestions[0] == "m5.large"
    assert "m5.lage" in str(info.value) and "m5.large" in str(info.value)


def test_load_returns_a_copy_so_a_lesson_cannot_poison_the_cache():
    first = data.load_instance_types()
    first.loc["t3.medium", "enis"] = 8  # the notes' slip
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
    frame = data.load_ec2_snapshot(result.path)
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
    heard = []
    result = data.snapshot_from_moto(tmp_path / "types.csv", regions=["us-east-1"],
                                     progress=lambda *step: heard.append(step))
    frame = data.load_ec2_snapshot(result.path)
    assert heard == [(1, 1, f"us-east-1: {result.count} instance types")]  # progress, one step per region
    assert result.count == len(frame) > 1000
    assert "moto" in result.provenance["source"]
    assert list(frame.columns) == list(data.SNAPSHOT_COLUMNS)  # the refresh writes only EC2's fields
    bundled = data.load_ec2_snapshot()
    shared = frame.index.intersection(bundled.index)
    assert len(shared) > 0.95 * len(bundled)
    columns = ["enis", "ipv4_per_eni", "network_cards", "hypervisor", "vcpus"]
    assert frame.loc[shared, columns].equals(bundled.loc[shared, columns])
