"""The bundled upstream tables in data/published/: real facts, the max-pods formula on every line, the parser."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys

import pytest

from ekslib.errors import EkslibError
from ekslib.sources import published
from ekslib.sources.paths import PUBLISHED_DIR

SCRIPT = PUBLISHED_DIR / "make_published.py"


@pytest.fixture(scope="module")
def make_published():
    """data/published/make_published.py imported as a module (it is a standalone script)."""
    spec = importlib.util.spec_from_file_location("make_published", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_published"] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cni():
    return published.load_cni_limits()


@pytest.fixture(scope="module")
def max_pods():
    return published.load_published_max_pods()["max_pods"]


@pytest.fixture(scope="module")
def branch():
    return published.load_branch_limits()


# --- the VPC CNI's limits table -----------------------------------------------------------------

def test_cni_table_covers_the_catalogue(cni):
    assert len(cni) >= 1300
    assert cni.index.is_unique and cni.index.is_monotonic_increasing
    assert list(cni.columns) == ["eni_limit", "ipv4_limit", "default_card_index", "network_cards",
                                 "card0_enis", "enis_per_card", "hypervisor", "bare_metal"]
    assert cni["bare_metal"].dtype == bool
    assert set(cni["hypervisor"]) <= {"nitro", "xen", "unknown", ""}


@pytest.mark.parametrize("name, enis, ipv4, cards", [
    ("t3.medium", 3, 6, 1),
    ("m5.large", 3, 10, 1),
    ("p4d.24xlarge", 15, 50, 4),
    ("i7ie.48xlarge", 15, 50, 1),
    ("i8ge.48xlarge", 24, 50, 1),
    ("trn1.32xlarge", 5, 50, 8),
    ("p5.48xlarge", 2, 50, 32),
])
def test_cni_limits_of_known_types(cni, name, enis, ipv4, cards):
    row = cni.loc[name]
    assert (row.eni_limit, row.ipv4_limit, row.network_cards) == (enis, ipv4, cards)


def test_multi_card_types_list_every_card(cni):
    assert cni.loc["p4d.24xlarge", "enis_per_card"] == "15;15;15;15"
    assert cni.loc["p5.48xlarge", "card0_enis"] == 2
    assert cni.loc["p5.48xlarge", "enis_per_card"] == ";".join(["2"] * 32)
    counts = cni["enis_per_card"].str.count(";") + 1
    assert (counts == cni["network_cards"]).all()
    assert (cni["network_cards"] > 1).sum() > 50


def test_eni_limit_is_the_default_cards(cni):
    """gen_vpc_ip_limits.go sets ENILimit = NetworkCards[DefaultNetworkCardIndex].MaximumNetworkInterfaces."""
    assert (cni["eni_limit"] == cni["card0_enis"]).all()


# --- eni-max-pods.txt -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("t3.nano", 4), ("t3.small", 11), ("t3.medium", 17), ("t3.large", 35), ("m5.large", 29),
    ("m5.4xlarge", 234), ("m5.24xlarge", 737), ("i7ie.48xlarge", 737), ("i8ge.48xlarge", 1178),
    ("p4d.24xlarge", 737), ("p5.48xlarge", 100), ("trn1.32xlarge", 247),
])
def test_published_max_pods(max_pods, name, expected):
    assert max_pods[name] == expected


def test_max_pods_file_is_the_upstream_one_value_per_type():
    text = (PUBLISHED_DIR / "eni-max-pods.txt").read_text()
    assert text.startswith("# Copyright Amazon.com Inc. or its affiliates. All Rights Reserved.")
    assert "Licensed under the Apache License, Version 2.0" in text
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1391
    assert all(re.fullmatch(r"\S+ \d+", line) for line in lines)


def test_formula_reproduces_every_published_line(cni, max_pods):
    """ENIs x (IPv4 - 1) + 2 with the default card's ENIs (printPodLimit uses ENILimit) - all 1,391 lines."""
    assert len(max_pods) == 1391
    assert set(max_pods.index) == set(cni.index)  # the same generator run writes both files
    table = cni.loc[max_pods.index]
    formula = table["card0_enis"] * (table["ipv4_limit"] - 1) + 2
    assert (formula == max_pods).all(), formula[formula != max_pods]


def test_summing_all_cards_would_not_reproduce_multi_card_types(cni, max_pods):
    multi = cni[cni["network_cards"] > 1]
    all_cards = multi["enis_per_card"].map(lambda s: sum(map(int, s.split(";"))))
    total = all_cards * (multi["ipv4_limit"] - 1) + 2
    assert (total != max_pods[multi.index]).sum() > 50
    assert total["p5.48xlarge"] == 64 * 49 + 2 and max_pods["p5.48xlarge"] == 100


def test_old_multi_column_file_is_read_by_its_first_value(tmp_path):
    old = tmp_path / "eni-max-pods.txt"
    old.write_text("# header\n#\nm5.large 29 20 9\nt3.medium 17 12 0\n")
    frame = published.load_published_max_pods(old)
    assert list(frame.columns) == ["max_pods"]
    assert frame["max_pods"].to_dict() == {"m5.large": 29, "t3.medium": 17}


def test_malformed_max_pods_line_names_its_line(tmp_path):
    bad = tmp_path / "eni-max-pods.txt"
    bad.write_text("# header\nm5.large 29\nm5.xlarge lots\n")
    with pytest.raises(EkslibError, match=r"eni-max-pods.txt:3"):
        published.load_published_max_pods(bad)


# --- the VPC resource controller's limits -----------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("m5.large", 9), ("m5.xlarge", 18), ("c5.4xlarge", 54), ("c5n.18xlarge", 107), ("p5.48xlarge", 120),
])
def test_branch_limits(branch, name, expected):
    assert branch.loc[name, "trunk_compatible"]
    assert branch.loc[name, "branch_interfaces"] == expected
    assert published.branch_eni_limits()[name] == expected


def test_t3_types_are_not_trunk_compatible(branch):
    t3 = branch[branch.index.str.startswith("t3.")]
    assert len(t3) == 7
    assert not t3["trunk_compatible"].any()
    limits = published.branch_eni_limits()
    assert all(limits[name] == 0 for name in t3.index)


def test_branch_table_shape(branch, cni):
    assert len(branch) >= 1100
    assert branch["trunk_compatible"].dtype == bool
    # branch_interfaces is 0 exactly where the type is not trunk-compatible
    assert ((branch["branch_interfaces"] > 0) == branch["trunk_compatible"]).all()
    # Interface in limits.go is the whole instance's ENI count (all cards), unlike the CNI's ENILimit
    per_card_sum = branch["enis_per_card"].map(lambda s: sum(map(int, s.split(";"))))
    assert (branch["eni_limit"] == per_card_sum).all()
    assert branch.loc["p5.48xlarge", "eni_limit"] == 64 and cni.loc["p5.48xlarge", "eni_limit"] == 2
    # where both know a type, the per-card ENIs and IPv4 per ENI agree
    shared = branch.index.intersection(cni.index)
    assert len(shared) >= 1100
    assert (branch.loc[shared, "enis_per_card"] == cni.loc[shared, "enis_per_card"]).all()
    assert (branch.loc[shared, "ipv4_limit"] == cni.loc[shared, "ipv4_limit"]).all()


def test_loaders_return_copies():
    first = published.load_cni_limits()
    first.loc["m5.large", "eni_limit"] = 99
    assert published.load_cni_limits().loc["m5.large", "eni_limit"] == 3
    table = published.load_branch_limits()
    table.loc["m5.large", "branch_interfaces"] = 0
    assert published.load_branch_limits().loc["m5.large", "branch_interfaces"] == 9


# --- provenance and missing files -------------------------------------------------------------------

@pytest.mark.parametrize("name, repo, path", [
    ("vpc_ip_resource_limit.csv", "https://github.com/aws/amazon-vpc-cni-k8s", "pkg/vpc/vpc_ip_resource_limit.go"),
    ("eni-max-pods.txt", "https://github.com/aws/amazon-vpc-cni-k8s", "misc/eni-max-pods.txt"),
    ("vpc_resource_controller_limits.csv", "https://github.com/aws/amazon-vpc-resource-controller-k8s",
     "pkg/aws/vpc/limits.go"),
])
def test_provenance(name, repo, path, cni, branch, max_pods):
    info = published.published_provenance(name)
    assert (info["repository"], info["path"], info["license"]) == (repo, path, "Apache-2.0")
    assert re.fullmatch(r"[0-9a-f]{40}", info["commit"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", info["commit_date"])
    assert "make_published.py" in info["command"] and info["commit"] in info["command"]
    rows = {"vpc_ip_resource_limit.csv": len(cni), "eni-max-pods.txt": len(max_pods),
            "vpc_resource_controller_limits.csv": len(branch)}[name]
    assert info["rows"] == rows


def test_unknown_provenance_name_lists_the_valid_ones():
    with pytest.raises(EkslibError, match=r"'limits.go'.*eni-max-pods.txt, vpc_ip_resource_limit.csv"):
        published.published_provenance("limits.go")


@pytest.mark.parametrize("loader, file", [
    (published.load_cni_limits, "vpc_ip_resource_limit.csv"),
    (published.load_branch_limits, "vpc_resource_controller_limits.csv"),
    (published.branch_eni_limits, "vpc_resource_controller_limits.csv"),
    (published.load_published_max_pods, "eni-max-pods.txt"),
    (lambda: published.published_provenance("eni-max-pods.txt"), "provenance.json"),
])
def test_missing_file_names_it_and_the_command(monkeypatch, tmp_path, loader, file):
    monkeypatch.setattr(published, "PUBLISHED_DIR", tmp_path)
    with pytest.raises(EkslibError) as info:
        loader()
    message = str(info.value)
    assert str(tmp_path / file) in message
    assert "make_published.py" in message


def test_missing_file_uses_the_pinned_command_when_provenance_is_there(monkeypatch, tmp_path):
    shutil.copy(PUBLISHED_DIR / "provenance.json", tmp_path / "provenance.json")
    monkeypatch.setattr(published, "PUBLISHED_DIR", tmp_path)
    with pytest.raises(EkslibError, match=r"--cni-ref [0-9a-f]{40}"):
        published.load_cni_limits()


# --- the conversion script's parser -----------------------------------------------------------------

CNI_SNIPPET = """\
// Code generated by go generate; DO NOT EDIT.
//
// The regions queried were:
// - us-east-1
package vpc

var instanceNetworkingLimits = map[string]InstanceTypeLimits{
	"x9.large": {
		ENILimit:                3,
		IPv4Limit:               10,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 3,
				NetworkCardIndex:         0,
			},
		},
		HypervisorType: "nitro",
		IsBareMetal:    false,
	},
	"x9.big": {
		ENILimit:                2,
		IPv4Limit:               50,
		DefaultNetworkCardIndex: 1,
		NetworkCards: []NetworkCard{
			{
				NetworkCardIndex:         1,
				MaximumNetworkInterfaces: 2,
			},

			{
				MaximumNetworkInterfaces: 4,
				NetworkCardIndex:         0,
			},
		},
		HypervisorType: "",
		IsBareMetal:    true,
	},
	"x9.old": {
		ENILimit:                4,
		IPv4Limit:               15,
		NetworkCards: []NetworkCard{
		},
	},
}
"""


def test_parser_on_a_synthetic_snippet(make_published):
    entries = make_published.parse_go_limits(CNI_SNIPPET, make_published.CNI_FIELDS, source="snippet.go")
    rows = make_published.cni_rows(entries)
    assert rows == [
        {"instance_type": "x9.big", "eni_limit": 2, "ipv4_limit": 50, "default_card_index": 1, "network_cards": 2,
         "card0_enis": 2, "enis_per_card": "4;2", "hypervisor": "", "bare_metal": True},
        {"instance_type": "x9.large", "eni_limit": 3, "ipv4_limit": 10, "default_card_index": 0, "network_cards": 1,
         "card0_enis": 3, "enis_per_card": "3", "hypervisor": "nitro", "bare_metal": False},
        {"instance_type": "x9.old", "eni_limit": 4, "ipv4_limit": 15, "default_card_index": 0, "network_cards": 1,
         "card0_enis": 4, "enis_per_card": "4", "hypervisor": "", "bare_metal": False},
    ]
    csv_text = make_published.to_csv(rows, make_published.CNI_COLUMNS)
    assert csv_text.splitlines()[0] == ",".join(make_published.CNI_COLUMNS)
    assert csv_text.splitlines()[1] == "x9.big,2,50,1,2,2,4;2,,True"
    assert make_published.header_regions(CNI_SNIPPET) == ["us-east-1"]


RC_SNIPPET = """\
package vpc

type NetworkCard struct {
	MaximumNetworkInterfaces int64
	NetworkCardIndex   int64
	NetworkPerformance string
}

var Limits = map[string]*VPCLimits{
	"x9.large": {
		Interface:               8,
		IPv4PerInterface:        30,
		IsTrunkingCompatible:    true,
		BranchInterface:         54,
		DefaultNetworkCardIndex: 0,
		NetworkCards: []NetworkCard{
			{
				MaximumNetworkInterfaces: 4,
				NetworkCardIndex:         0,
				NetworkPerformance:       "Up to 10 Gigabit",
			},
			{
				MaximumNetworkInterfaces: 4,
				NetworkCardIndex:         1,
			},
		},
		Hypervisor:  "nitro",
		IsBareMetal: false,
	},
}
"""


def test_parser_on_a_controller_snippet(make_published):
    rows = make_published.rc_rows(make_published.parse_go_limits(RC_SNIPPET, make_published.RC_FIELDS))
    assert rows == [{"instance_type": "x9.large", "eni_limit": 8, "ipv4_limit": 30, "trunk_compatible": True,
                     "branch_interfaces": 54, "default_card_index": 0, "network_cards": 2, "card0_enis": 4,
                     "enis_per_card": "4;4", "hypervisor": "nitro", "bare_metal": False}]


def _edit(text: str, lineno: int, replacement: str | None) -> str:
    """``text`` with line ``lineno`` replaced (``None`` deletes it; a string with ``\\n`` inserts lines)."""
    lines = text.splitlines()
    lines[lineno - 1:lineno] = [] if replacement is None else replacement.split("\n")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("edit_line, replacement, error_line, message", [
    (10, "\t\tIPv4Limit:               ten,", 10, "expected a Go int value, got 'ten'"),
    (19, "\t\tIsBareMetal:    false,\n\t\tWeight: 3,", 20, "unknown field 'Weight'"),
    (15, "\t\t\t\tNetworkCardIndex:         0,\n\t\t\t\tSpeed: 1,", 16, "expected a NetworkCard field"),
    (19, "\t\tIsBareMetal:    no,", 19, "expected a Go bool value"),
    (39, '\t"x9.large": {', 39, "duplicate instance type 'x9.large' (first at line 8)"),
    (39, "\tx9.old: {", 39, 'expected `"<instance type>": {`'),
    (40, None, 39, "entry 'x9.old' lacks field ENILimit"),
    (33, None, 31, "NetworkCard of 'x9.big' lacks NetworkCardIndex"),
    (5, "package vpc\nfunc init() {}", 6, "unexpected line before the limits map"),
    (45, "}\nvar other = 1", 46, "unexpected line after the limits map"),
])
def test_parser_fails_loudly_with_the_line_number(make_published, edit_line, replacement, error_line, message):
    text = _edit(CNI_SNIPPET, edit_line, replacement)
    with pytest.raises(make_published.GoParseError) as info:
        make_published.parse_go_limits(text, make_published.CNI_FIELDS, source="snippet.go")
    assert info.value.lineno == error_line
    assert str(info.value).startswith(f"snippet.go:{error_line}: ")
    assert message in str(info.value)


def test_parser_rejects_a_truncated_file(make_published):
    truncated = CNI_SNIPPET.rsplit("}", 1)[0]
    with pytest.raises(make_published.GoParseError, match="ended inside the limits map"):
        make_published.parse_go_limits(truncated, make_published.CNI_FIELDS)


def test_script_plain_file_mode_writes_all_four_files(make_published, tmp_path):
    """The script end to end on synthetic inputs: CSVs, the max-pods file verbatim, the given provenance."""
    go, rc, pods = tmp_path / "limits.go", tmp_path / "rc.go", tmp_path / "eni-max-pods.txt"
    go.write_text(CNI_SNIPPET)
    rc.write_text(RC_SNIPPET)
    pods.write_text("# header\nx9.big 100\nx9.large 29\nx9.old 58\n")
    out = tmp_path / "out"
    assert make_published.main([
        "--cni-limits", str(go), "--eni-max-pods", str(pods), "--rc-limits", str(rc),
        "--cni-commit", "a" * 40, "--cni-date", "2026-01-01T00:00:00+00:00",
        "--rc-commit", "b" * 40, "--rc-date", "2026-01-02T00:00:00+00:00", "--out", str(out)]) == 0
    assert (out / "eni-max-pods.txt").read_bytes() == pods.read_bytes()
    assert (out / "vpc_ip_resource_limit.csv").read_text().splitlines()[1:] == [
        "x9.big,2,50,1,2,2,4;2,,True", "x9.large,3,10,0,1,3,3,nitro,False", "x9.old,4,15,0,1,4,4,,False"]
    assert (out / "vpc_resource_controller_limits.csv").read_text().splitlines()[1] == \
        "x9.large,8,30,True,54,0,2,4,4;4,nitro,False"
    provenance = json.loads((out / "provenance.json").read_text())
    assert [provenance[name]["rows"] for name in
            ("vpc_ip_resource_limit.csv", "eni-max-pods.txt", "vpc_resource_controller_limits.csv")] == [3, 3, 1]
    assert provenance["vpc_resource_controller_limits.csv"]["commit"] == "b" * 40
    assert provenance["vpc_ip_resource_limit.csv"]["commit_date"] == "2026-01-01T00:00:00+00:00"


def test_bundled_csvs_are_what_the_script_writes(make_published, cni):
    """The bundled CSV round-trips through the script's writer unchanged (column order, booleans, sorting)."""
    text = (PUBLISHED_DIR / "vpc_ip_resource_limit.csv").read_text()
    rows = [dict(zip(make_published.CNI_COLUMNS, line.split(","))) for line in text.splitlines()[1:]]
    assert make_published.to_csv(rows, make_published.CNI_COLUMNS) == text
    assert [r["instance_type"] for r in rows] == sorted(r["instance_type"] for r in rows) == list(cni.index)


def test_default_card_missing_from_the_cards_is_an_error(make_published):
    text = _edit(CNI_SNIPPET, 24, "\t\tDefaultNetworkCardIndex: 5,")
    entries = make_published.parse_go_limits(text, make_published.CNI_FIELDS, source="snippet.go")
    with pytest.raises(make_published.GoParseError, match=r"snippet.go:21: 'x9.big': DefaultNetworkCardIndex 5"):
        make_published.cni_rows(entries)
