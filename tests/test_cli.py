"""The command line (``python -m ekslib``) against the former max-pods-calculator.sh (vpc-cni.md section 2)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ekslib.cli import MISSING_CNI_VERSION, MISSING_INSTANCE_TYPE, main
from ekslib.errors import RefreshError
from ekslib.sources import instance_types as data

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------------ max-pods


@pytest.mark.parametrize("argv, expected", [
    (["--instance-type", "m5.large", "--cni-version", "1.9.0"], 29),
    (["--instance-type", "m5.large", "--cni-version", "1.9.0", "--cni-custom-networking-enabled"], 20),
    (["--instance-type", "m5.large", "--cni-version", "1.9.0", "--cni-prefix-delegation-enabled"], 110),
    # the reference example: m5.8xlarge (CNI 1.11.2) 234 with --show-max-allowed, no prefix delegation
    (["--instance-type", "m5.8xlarge", "--cni-version", "1.11.2", "--show-max-allowed"], 234),
    # ... and with prefix delegation the raw value is 8 x 29 x 16 + 2
    (["--instance-type", "m5.8xlarge", "--cni-version", "1.11.2", "--cni-prefix-delegation-enabled",
      "--show-max-allowed"], 8 * 29 * 16 + 2),
    (["--instance-type", "c6in.32xlarge", "--cni-version", "1.11.2", "--show-max-allowed"], 394),
    # the ceiling applies without prefix delegation too
    (["--instance-type", "m5.4xlarge", "--cni-version", "1.9.0"], 110),
    (["--instance-type", "m5.4xlarge", "--cni-version", "1.9.0", "--show-max-allowed"], 234),
    # prefix delegation is ignored before CNI 1.9.0
    (["--instance-type", "m5.large", "--cni-version", "1.8.0", "--cni-prefix-delegation-enabled"], 29),
    (["--instance-type", "t3.medium", "--cni-version", "1.9.0", "--cni-max-eni", "2", "--show-max-allowed"], 12),
    (["--instance-type", "M5.Large", "--cni-version", "v1.19.2-eksbuild.1"], 29),
    # types only one source knows: p3 only in the VPC CNI's table (raw 58 <= 110: no vCPUs needed), r9g only in EC2
    (["--instance-type", "p3.2xlarge", "--cni-version", "1.9.0"], 58),
    (["--instance-type", "p3.16xlarge", "--cni-version", "1.9.0", "--show-max-allowed"], 234),
    (["--instance-type", "r9g.large", "--cni-version", "1.9.0"], 59),
    # the CNI table's cards, not moto's: 15 ENIs on one card
    (["--instance-type", "i7ie.48xlarge", "--cni-version", "1.9.0", "--show-max-allowed"], 737),
])
def test_max_pods_prints_only_the_number(capsys, argv, expected):
    code, out, err = run(capsys, "max-pods", *argv)
    assert (code, out, err) == (0, f"{expected}\n", "")


@pytest.mark.parametrize("argv, message", [
    (["--cni-version", "1.9.0"], MISSING_INSTANCE_TYPE),
    (["--instance-type", "m5.large"], MISSING_CNI_VERSION),
    ([], MISSING_INSTANCE_TYPE),
])
def test_missing_required_flags_use_the_scripts_messages(capsys, argv, message):
    code, out, err = run(capsys, "max-pods", *argv)
    assert (code, out, err) == (1, "", message + "\n")


def test_missing_messages_are_the_scripts_own():
    assert MISSING_INSTANCE_TYPE == "You must specify an instance type to calculate max pods value."
    assert MISSING_CNI_VERSION == "You must specify a CNI Version to use. Example - 1.7.5"


@pytest.mark.parametrize("argv, fragment", [
    (["--instance-type", "m5.lage", "--cni-version", "1.9.0"], "m5.large"),
    (["--instance-type", "m5.large", "--cni-version", "one.two"], "malformed CNI version 'one.two'"),
    (["--instance-type", "m5.large", "--cni-version", "1.9.0", "--cni-max-eni", "-1"], "max_eni=-1"),
    (["--instance-type", "m5.large", "--cni-version", "1.9.0", "--cni-max-eni", "0"], "at least 1"),
    (["--instance-type-from-imds", "--cni-version", "1.9.0"], "cannot query the instance metadata service"),
])
def test_bad_input_is_one_error_line_and_exit_1(capsys, argv, fragment):
    code, out, err = run(capsys, "max-pods", *argv)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and fragment in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_ceiling_on_a_type_without_vcpus_is_a_clear_error(capsys):
    """p3.16xlarge is known only to the VPC CNI's table: raw 234 > 110, so the ceiling needs its vCPUs."""
    code, out, err = run(capsys, "max-pods", "--instance-type", "p3.16xlarge", "--cni-version", "1.9.0")
    assert code == 1 and out == ""
    assert err.startswith("error: max pods of p3.16xlarge is unknown") and err.count("\n") == 1
    assert "python -m ekslib refresh-data --live" in err and "--show-max-allowed" in err
    assert "Traceback" not in err


def test_max_eni_must_be_a_whole_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["max-pods", "--instance-type", "m5.large", "--cni-version", "1.9.0", "--cni-max-eni", "2.5"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--cni-max-eni" in err and "whole number" in err and "'2.5'" in err


def test_explain_prints_the_derivation(capsys):
    code, out, _ = run(capsys, "max-pods", "--instance-type", "t3.medium", "--cni-version", "1.9.0", "--explain")
    assert code == 0
    assert out.startswith("t3.medium: max pods = 17\n")
    assert "3 x (6 - 1) + 2 = 17" in out
    code, out, _ = run(capsys, "max-pods", "--instance-type", "m5.large", "--cni-version", "1.9.0",
                       "--cni-prefix-delegation-enabled", "--explain")
    assert "3 x (10 - 1) x 16 + 2 = 434 -> min(434, 110) = 110" in out


def test_module_entry_point_runs_as_the_script_did():
    run_ = subprocess.run(
        [sys.executable, "-m", "ekslib", "max-pods", "--instance-type", "m5.large", "--cni-version", "1.9.0",
         "--cni-prefix-delegation-enabled"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert (run_.returncode, run_.stdout, run_.stderr) == (0, "110\n", "")
    missing = subprocess.run([sys.executable, "-m", "ekslib", "max-pods", "--instance-type", "m5.large"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "", MISSING_CNI_VERSION + "\n")


def test_importing_the_cli_does_not_load_pandas():
    code = "import sys, ekslib.cli; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


# ---------------------------------------------------------------------------------------------------- help


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("max-pods", "table", "refresh-data"):
        assert command in out


@pytest.mark.parametrize("command", ["max-pods", "table", "refresh-data"])
def test_each_subcommand_help_has_an_example(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and f"{command} " in out.split("examples:")[1]


# --------------------------------------------------------------------------------------------------- table


def test_table_csv_for_a_family(capsys):
    code, out, err = run(capsys, "table", "--family", "m5", "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.DictReader(out.splitlines()))
    assert list(rows[0]) == ["instance_type", "vcpus", "enis", "ipv4_per_eni", "max_pods"]
    assert "m5.large,2,3,10,29" in out.splitlines()
    assert [r["instance_type"] for r in rows] == [f"m5.{s}" for s in data.sizes_of("m5")]
    assert {r["instance_type"]: int(r["max_pods"]) for r in rows}["m5.4xlarge"] == 110  # ceiling by default


def test_table_modes_and_text_format(capsys):
    code, out, _ = run(capsys, "table", "--family", "m5", "--cni-prefix-delegation-enabled", "--show-max-allowed")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["instance_type", "vcpus", "enis", "ipv4_per_eni", "max_pods"]
    assert lines[1].split() == ["m5.large", "2", "3", "10", "434"]


def test_table_of_every_type(capsys):
    code, out, _ = run(capsys, "table", "--format", "csv")
    assert code == 0
    assert len(out.splitlines()) == len(data.instance_type_names()) + 1


def test_table_leaves_unknown_cells_empty_and_says_why(capsys):
    code, out, err = run(capsys, "table", "--family", "p3", "--format", "csv")
    assert code == 0
    assert out.splitlines() == ["instance_type,vcpus,enis,ipv4_per_eni,max_pods", "p3.2xlarge,,4,15,58",
                                "p3.8xlarge,,8,30,", "p3.16xlarge,,8,30,"]
    assert err.startswith("note: no max pods for p3.8xlarge, p3.16xlarge") and "refresh-data --live" in err
    code, out, err = run(capsys, "table", "--family", "p3", "--format", "csv", "--show-max-allowed")
    assert (code, err) == (0, "") and out.splitlines()[-1] == "p3.16xlarge,,8,30,234"


def test_table_unknown_family_names_close_ones(capsys):
    code, out, err = run(capsys, "table", "--family", "m55")
    assert code == 1 and out == ""
    assert err.startswith("error: unknown instance family 'm55'") and "m5" in err and "Traceback" not in err


# -------------------------------------------------------------------------------------------- refresh-data


def test_refresh_data_writes_a_snapshot_and_its_provenance(capsys, tmp_path, monkeypatch):
    """The command's own path to a written snapshot; moto itself is exercised end to end in test_data."""
    from ekslib.sources import instance_types as data
    from tests.conftest import api_item
    from tests.test_data import _stubbed_client

    def offline(path, regions, *, force, progress):
        clients = {r: _stubbed_client([[api_item("t3.medium"), api_item("m5.large", 3, 10)]], r)[0] for r in regions}
        return data.refresh_instance_types(clients.__getitem__, regions, path=path, force=force, progress=progress,
                                           source="EC2 DescribeInstanceTypes as served offline by moto (stubbed)")

    monkeypatch.setattr(data, "snapshot_from_moto", offline)
    target = tmp_path / "x.csv"
    code, out, err = run(capsys, "refresh-data", "--output", str(target), "--regions", "eu-west-1,us-east-1")
    assert code == 0 and err == "[1/2] eu-west-1: 2 instance types\n[2/2] us-east-1: 2 instance types\n"
    assert out.count("\n") == 1 and str(target) in out and "moto" in out
    count = int(out.split()[0])
    with target.open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == count == 2
    provenance = json.loads((tmp_path / "x.provenance.json").read_text())
    assert provenance["count"] == count and provenance["regions"] == ["eu-west-1", "us-east-1"]
    assert run(capsys, "refresh-data", "--output", str(tmp_path / "q.csv"), "--quiet")[2] == ""  # no progress


def test_refresh_data_live_passes_the_options(capsys, tmp_path, monkeypatch):
    seen = {}

    def fake_refresh(client, regions, *, path, force, progress):
        seen.update(client=client, regions=regions, path=path, force=force)
        return data.RefreshResult(Path(path), 3, {"source": "EC2 DescribeInstanceTypes"})

    monkeypatch.setattr(data, "refresh_instance_types", fake_refresh)
    code, out, _ = run(capsys, "refresh-data", "--live", "--regions", "us-east-1", "eu-west-1,ap-south-1",
                       "--output", str(tmp_path / "y.csv"), "--force")
    assert code == 0
    assert seen == {"client": None, "regions": ("us-east-1", "eu-west-1", "ap-south-1"),
                    "path": tmp_path / "y.csv", "force": True}
    assert out == f"3 instance types written to {tmp_path / 'y.csv'} (source: EC2 DescribeInstanceTypes)\n"


def test_refresh_data_defaults(capsys, monkeypatch):
    seen = {}

    def fake_moto(path, regions, *, force, progress):
        seen.update(path=path, regions=regions, force=force)
        return data.RefreshResult(Path(path), 1, {"source": "moto"})

    monkeypatch.setattr(data, "snapshot_from_moto", fake_moto)
    assert run(capsys, "refresh-data")[0] == 0
    assert seen == {"path": data.SNAPSHOT, "regions": data.DEFAULT_REGIONS, "force": False}


@pytest.mark.parametrize("error, fragments", [
    (RefreshError("EC2 returned 3 instance types but the snapshot has 1395: that looks partial"), ["looks partial"]),
    (ModuleNotFoundError("No module named 'moto'", name="moto"), ["pip install 'ekslib[snapshot]'", "--live"]),
])
def test_refresh_data_failures_are_one_error_line(capsys, monkeypatch, error, fragments):
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(data, "snapshot_from_moto", failing)
    code, out, err = run(capsys, "refresh-data", "--output", "/nonexistent/never-written.csv")
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert all(fragment in err for fragment in fragments)


def test_refresh_data_live_without_access_is_a_clear_error(capsys, monkeypatch):
    from botocore.exceptions import NoCredentialsError

    def failing(*args, **kwargs):
        raise NoCredentialsError()

    monkeypatch.setattr(data, "refresh_instance_types", failing)
    code, out, err = run(capsys, "refresh-data", "--live")
    assert code == 1 and out == ""
    assert err.startswith("error: the EC2 API call failed (Unable to locate credentials)")
