"""The ``ekslib`` command line: ``python -m ekslib`` (or the ``ekslib`` console script).

Subcommands:

* ``max-pods``     -- a drop-in for the former amazon-eks-ami ``max-pods-calculator.sh``: same flags, same
  output (the number alone on stdout), same messages for a missing ``--instance-type`` / ``--cni-version``;
* ``table``        -- max pods of a whole family (or every type) under one set of CNI settings;
* ``refresh-data`` -- regenerate the bundled snapshot ``data/instance_types.csv`` (offline from moto, or
  ``--live`` from the EC2 API with your AWS credentials);
* ``lab verify``   -- build the scenarios' data plane in real network namespaces, play every scenario the kernel
  can, print predicted vs observed and exit 1 on any mismatch (root, or a user namespace where allowed);
  ``lab status`` says whether a lab can run here; ``lab clean`` removes labs left by killed processes.

The instance types are those of the EC2 snapshot and of the VPC CNI's own limits table together
(:func:`ekslib.sources.load_instance_types`). A type only the VPC CNI's table knows (p3.2xlarge, ...) has no
vCPU count: where the 110/250 ceiling needs one (a raw value above 110), ``max-pods`` fails with a message
naming ``refresh-data --live`` and ``table`` leaves the cell empty, with a note on stderr.

This module only parses arguments and prints: the logic lives in :mod:`ekslib.capacity` and
:mod:`ekslib.sources`, which are imported inside the command functions so that ``import ekslib.cli`` and
``--help`` stay light (no pandas).

Exit codes: 0 success; 1 bad input or a failed refresh (``error: <message>`` on stderr, never a traceback);
2 a malformed command line (argparse's usage error, e.g. ``--cni-max-eni two``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ekslib.errors import EkslibError

# The former script's own messages (amazon-eks-ami max-pods-calculator.sh), kept word for word.
MISSING_INSTANCE_TYPE = "You must specify an instance type to calculate max pods value."
MISSING_CNI_VERSION = "You must specify a CNI Version to use. Example - 1.7.5"
NO_IMDS = ("--instance-type-from-imds is not supported: this offline tool cannot query the instance metadata "
           "service (IMDS); pass --instance-type, e.g. --instance-type m5.large")


class CommandError(Exception):
    """A user-facing failure of a command: printed as ``error: <message>``, exit 1."""


def _prog() -> str:
    """``python -m ekslib`` when run as a module, else the console script's name."""
    return "python -m ekslib" if Path(sys.argv[0]).name == "__main__.py" else "ekslib"


def _whole_number(text: str) -> int:
    """argparse type for ``--cni-max-eni``: a whole number (range checked by ekslib.capacity)."""
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of ENIs such as 2, not {text!r}") from None


def _regions(values: Sequence[str] | None) -> tuple[str, ...] | None:
    """``--regions a b`` or ``--regions a,b`` (or both mixed) -> ``("a", "b")``; None when not given."""
    if not values:
        return None
    regions = tuple(part.strip() for value in values for part in value.split(",") if part.strip())
    if not regions:
        raise CommandError("--regions needs at least one region name, e.g. --regions us-east-1,eu-west-1")
    return regions


def _settings(args: argparse.Namespace, cni_version: str) -> dict[str, Any]:
    """The calculator's flags as keyword arguments of :func:`ekslib.capacity.max_pods`."""
    return {
        "cni_version": cni_version,
        "prefix_delegation": args.cni_prefix_delegation_enabled,
        "custom_networking": args.cni_custom_networking_enabled,
        "max_eni": args.cni_max_eni,
        "ceiling": not args.show_max_allowed,
    }


# --------------------------------------------------------------------------------------------- commands


def cmd_max_pods(args: argparse.Namespace) -> int:
    if args.instance_type_from_imds:
        raise CommandError(NO_IMDS)
    if not args.instance_type:
        print(MISSING_INSTANCE_TYPE, file=sys.stderr)
        return 1
    if not args.cni_version:
        print(MISSING_CNI_VERSION, file=sys.stderr)
        return 1
    from ekslib.capacity import explain_max_pods, max_pods

    settings = _settings(args, args.cni_version)
    if args.explain:
        print(explain_max_pods(args.instance_type, **settings))
    else:
        print(max_pods(args.instance_type, **settings))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from ekslib.capacity import REFRESH_LIVE, capacity_table
    from ekslib.facts import DEFAULT_CNI_VERSION
    from ekslib.sources import instance_types as data

    settings = _settings(args, args.cni_version or DEFAULT_CNI_VERSION)
    if args.family:
        family = args.family.strip().lower()
        order = [f"{family}.{size}" for size in data.sizes_of(family)]  # unknown family: error with suggestions
    else:
        names = data.instance_type_names()
        order = sorted(names, key=lambda n: (n.split(".", 1)[0], data.size_rank(n.split(".", 1)[1]), n))
    table = capacity_table(**settings).loc[order, ["vcpus", "enis", "ipv4_per_eni", "max_pods"]]
    unknown = list(table.index[table["max_pods"].isna()])
    table = table.rename_axis("instance_type").reset_index()
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False, lineterminator="\n"))
    else:
        print(table.to_string(index=False))
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        print(f"note: no max pods for {shown}: the 110/250 ceiling needs vCPUs, which only EC2 has and the "
              f"snapshot lacks for types known only to the VPC CNI's limits table; run `{REFRESH_LIVE}` "
              f"or add --show-max-allowed", file=sys.stderr)
    return 0


def _progress(args: argparse.Namespace):
    """``[done/total] label`` lines on stderr unless ``--quiet``."""
    from ekslib._progress import text_progress

    return None if getattr(args, "quiet", False) else text_progress()


def cmd_refresh_data(args: argparse.Namespace) -> int:
    from ekslib.sources import instance_types as data

    regions = _regions(args.regions) or data.DEFAULT_REGIONS
    path = Path(args.output) if args.output else data.SNAPSHOT
    if args.live:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            result = data.refresh_instance_types(None, regions, path=path, force=args.force,
                                                 progress=_progress(args))
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"the EC2 API call failed ({exc}); check your AWS credentials and regions, "
                               f"or drop --live to rebuild the snapshot offline from moto") from None
    else:
        try:
            result = data.snapshot_from_moto(path, regions, force=args.force, progress=_progress(args))
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] != "moto":
                raise
            raise CommandError("the offline refresh needs moto, which is not installed: "
                               "pip install 'ekslib[snapshot]' (or use --live with AWS credentials)") from None
    print(f"{result.count} instance types written to {result.path} (source: {result.provenance['source']})")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    """The real-kernel lab: ``status``, ``clean`` or ``verify``."""
    from ekslib.lab import kernel

    if args.lab_command == "status":
        ok, why = kernel.lab_support()
        print(("yes: " if ok else "no: ") + why)
        present = kernel.lab_namespaces()
        if present:
            print(f"{len(present)} lab namespaces present: {', '.join(present[:6])}" + (" ..." if len(present) > 6
                                                                                       else ""))
        return 0 if ok else 1
    if args.lab_command == "clean":
        gone = kernel.reclaim_stale()
        print(f"removed {len(gone)} namespaces of labs whose process is gone" + (f": {', '.join(gone)}" if gone
                                                                                 else ""))
        return 0
    ok, why = kernel.lab_support()
    if not ok:
        wrapped = kernel.user_namespace_command([sys.executable, "-m", "ekslib", *sys.argv[1:]]) \
            if getattr(os, "geteuid", lambda: 0)() != 0 and not os.environ.get(kernel.USERNS_ENV) else None
        if wrapped is None:
            raise CommandError(f"no lab here: {why}")
        print("[lab] not root: running inside a user namespace (unshare)", file=sys.stderr)
        return subprocess.call(wrapped)
    from ekslib.lab.verify import verify

    table = verify(args.scenario, progress=_progress(args))
    if args.format == "json":
        print(table.to_json(orient="records"))
    elif args.format == "csv":
        print(table.to_csv(index=False), end="")
    else:
        columns = ["scenario", "case", "predicted source seen", "observed source seen", "predicted reply accepted",
                   "observed reply accepted", "match", "differences"]
        print(table[columns].fillna("").to_string(index=False))
    played = table[table["played"]]
    bad = played[~played["match"].astype(bool)]
    print(f"{len(played) - len(bad)} of {len(played)} cases as the engine predicted; "
          f"{len(table) - len(played)} not played here", file=sys.stderr)
    return 1 if len(bad) else 0


# ----------------------------------------------------------------------------------------------- parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the line breaks of descriptions and examples."""


def _add_mode_flags(parser: argparse.ArgumentParser, cni_version_help: str) -> None:
    """The flags of the former max-pods-calculator.sh that choose the CNI mode."""
    parser.add_argument("--cni-version", metavar="VERSION", help=cni_version_help)
    parser.add_argument("--cni-custom-networking-enabled", action="store_true",
                        help="custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true): the primary ENI "
                             "gives no pod addresses")
    parser.add_argument("--cni-prefix-delegation-enabled", action="store_true",
                        help="prefix delegation (ENABLE_PREFIX_DELEGATION=true): /28 prefixes of 16 addresses; "
                             "counted only for CNI >= 1.9.0 on Nitro types")
    parser.add_argument("--cni-max-eni", type=_whole_number, metavar="N",
                        help="MAX_ENI: use at most N ENIs (N >= 1)")
    parser.add_argument("--show-max-allowed", action="store_true",
                        help="print the raw value, without the recommended ceiling "
                             "(110 for <= 30 vCPUs, else 250)")


def build_parser() -> argparse.ArgumentParser:
    prog = _prog()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Pod capacity of Amazon EKS nodes under the AWS VPC CNI, from the bundled EC2\n"
                    "instance-type snapshot (offline).",
        epilog=f"examples:\n  {prog} max-pods --instance-type m5.large --cni-version 1.9.0\n"
               f"  {prog} table --family m5\n  {prog} refresh-data",
        formatter_class=_Formatter,
    )
    from ekslib._version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "max-pods", formatter_class=_Formatter,
        help="max pods for one instance type (drop-in for the former max-pods-calculator.sh)",
        description="Max pods for one instance type, as the former amazon-eks-ami max-pods-calculator.sh\n"
                    "printed it: the number alone on stdout, capped at the recommended ceiling\n"
                    "(110 for <= 30 vCPUs, else 250) unless --show-max-allowed.",
        epilog="examples:\n"
               "  %(prog)s --instance-type m5.large --cni-version 1.9.0\n"
               "      29\n"
               "  %(prog)s --instance-type m5.large --cni-version 1.9.0 --cni-prefix-delegation-enabled\n"
               "      110\n"
               "  %(prog)s --instance-type t3.medium --cni-version 1.9.0 --explain    # the derivation",
    )
    p.add_argument("--instance-type", metavar="TYPE", help="EC2 instance type, e.g. m5.large (required)")
    p.add_argument("--instance-type-from-imds", action="store_true",
                   help="not supported offline (the tool cannot query IMDS): pass --instance-type")
    _add_mode_flags(p, "VPC CNI version, e.g. 1.9.0 or v1.19.2-eksbuild.1 (required)")
    p.add_argument("--explain", action="store_true", help="print the derivation instead of the bare number")
    p.set_defaults(func=cmd_max_pods)

    p = sub.add_parser(
        "table", formatter_class=_Formatter,
        help="max pods of every size of a family (or of every type) under one CNI mode",
        description="Max pods of every size of an instance family (every type when --family is omitted),\n"
                    "with the same mode flags as max-pods; the ceiling applies unless --show-max-allowed.",
        epilog="examples:\n"
               "  %(prog)s --family m5\n"
               "  %(prog)s --family m5 --cni-prefix-delegation-enabled --show-max-allowed --format csv",
    )
    p.add_argument("--family", help="instance family, e.g. m5 (default: every type)")
    _add_mode_flags(p, "VPC CNI version (default: ekslib.facts.DEFAULT_CNI_VERSION, a current release)")
    p.add_argument("--format", choices=("text", "csv"), default="text", help="output format")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser(
        "refresh-data", formatter_class=_Formatter,
        help="regenerate the instance-type snapshot (offline from moto, or --live from EC2)",
        description="Regenerate the bundled snapshot data/instance_types.csv (and its provenance json)\n"
                    "from EC2 DescribeInstanceTypes: by default offline, as served by moto (AWS's published\n"
                    "catalogue; pip install 'ekslib[snapshot]'); with --live from the real EC2 API using\n"
                    "your AWS credentials. A refresh that returns under 90% of the current snapshot's\n"
                    "types is refused unless --force.",
        epilog="examples:\n"
               "  %(prog)s\n"
               "  %(prog)s --live --regions us-east-1,eu-west-1\n"
               "  %(prog)s --output /tmp/instance_types.csv",
    )
    p.add_argument("--live", action="store_true", help="read the live EC2 API with your AWS credentials")
    p.add_argument("--regions", nargs="+", metavar="REGION",
                   help="regions to merge, space or comma separated (default: ekslib.sources.DEFAULT_REGIONS, "
                        "us-east-1 us-west-2 eu-west-1 ap-northeast-1)")
    p.add_argument("--output", metavar="PATH", help="CSV to write (default: the bundled snapshot)")
    p.add_argument("--force", action="store_true",
                   help="replace the snapshot even if the answer has far fewer types than it")
    p.add_argument("--quiet", action="store_true", help="no progress lines (one per region) on stderr")
    p.set_defaults(func=cmd_refresh_data)

    p = sub.add_parser(
        "lab", formatter_class=_Formatter,
        help="the real-kernel lab: verify the engine against Linux network namespaces",
        description="Build the scenarios' clusters in real Linux network namespaces (nodes, pods, the VPC, a\n"
                    "NAT gateway, a load balancer, hosts outside), send real TCP and UDP through them and\n"
                    "compare what the kernel did with what the engine predicts. Needs Linux and root, or a\n"
                    "user namespace (unshare) where the system allows one. Never touches the host's network.",
        epilog="examples:\n"
               "  %(prog)s status\n"
               "  %(prog)s verify\n"
               "  %(prog)s verify --scenario nodeport loadbalancer --format csv\n"
               "  %(prog)s clean",
    )
    lab_sub = p.add_subparsers(dest="lab_command", metavar="LAB_COMMAND", required=True)
    lab_sub.add_parser("status", help="can a lab run here?")
    lab_sub.add_parser("clean", help="remove labs left by killed processes")
    v = lab_sub.add_parser("verify", help="every scenario the kernel can play: predicted vs observed")
    v.add_argument("--scenario", nargs="+", metavar="NAME", help="only these scenarios (default: all)")
    v.add_argument("--format", choices=("text", "csv", "json"), default="text", help="output format")
    v.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func
    try:
        return command(args)
    except (EkslibError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `ekslib table | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
