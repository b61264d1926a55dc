"""The data layer: the EC2 instance-type snapshot, refreshed from the EC2 API and loaded once.

Source of every field: the EC2 API ``DescribeInstanceTypes``
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypes.html), as listed in
``shared/reference/vpc-cni.md`` section 1. The bundled snapshot ``data/instance_types.csv`` is made by
:func:`refresh_instance_types` run against the EC2 API as served offline by ``moto`` (which carries AWS's
published catalogue); with AWS credentials the same code reads the live API::

    python -m ekslib refresh-data           # offline, from moto's copy of the catalogue
    python -m ekslib refresh-data --live    # live EC2 API, with your AWS credentials

>>> from ekslib.sources import instance_type_info
>>> t = instance_type_info("t3.medium")
>>> (t.enis, t.ipv4_per_eni, t.hypervisor)
(3, 6, 'nitro')
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from ekslib.errors import EkslibError, RefreshError, UnknownInstanceTypeError, suggest
from ekslib.sources.paths import DATA_DIR

SNAPSHOT = DATA_DIR / "instance_types.csv"
DEFAULT_REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
#: A refresh that returns fewer types than this share of the current snapshot is refused as partial.
MIN_SHARE_OF_CURRENT = 0.9


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One EC2 instance type, with the fields pod capacity needs (DescribeInstanceTypes).

    ``enis`` is the default network card's ``MaximumNetworkInterfaces``: the VPC CNI and its published
    ``eni-max-pods.txt`` count only that card ("For multi-card instance types ... calculated only
    against the default network card at index (0)").
    """

    instance_type: str
    family: str
    category: str
    generation: int
    size: str
    enis: int
    enis_total: int
    network_cards: int
    default_card_index: int
    ipv4_per_eni: int
    ipv6_per_eni: int
    ipv6_supported: bool
    hypervisor: str
    bare_metal: bool
    vcpus: int
    memory_mib: int
    network_performance: str
    architectures: str
    current_generation: bool
    burstable: bool

    @property
    def nitro(self) -> bool:
        """True when EC2 reports ``Hypervisor == "nitro"`` (bare metal reports none)."""
        return self.hypervisor == "nitro"


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(InstanceType))
_INT_COLUMNS = ("generation", "enis", "enis_total", "network_cards", "default_card_index", "ipv4_per_eni",
                "ipv6_per_eni", "vcpus", "memory_mib")
_BOOL_COLUMNS = ("ipv6_supported", "bare_metal", "current_generation", "burstable")

_NAME = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9-]+)$")
_SIZES = {"nano": 0, "micro": 1, "small": 2, "medium": 3, "large": 4, "xlarge": 5}


def split_name(instance_type: str) -> tuple[str, str, int, str]:
    """``(family, category, generation, size)`` of an instance type name (generation 0 if none).

    >>> split_name("c7i-flex.large")
    ('c7i-flex', 'c', 7, 'large')
    >>> split_name("u-6tb1.metal")
    ('u-6tb1', 'u', 1, 'metal')
    """
    match = _NAME.match(instance_type)
    if not match:
        raise EkslibError(f"{instance_type!r} is not an instance type name of the form 'family.size' (e.g. m5.large)")
    family, size = match["family"], match["size"]
    lead = re.match(r"^([a-z]+)(\d+)", family)
    if lead:
        category, generation = lead[1], int(lead[2])
    else:  # u-6tb1, bmn-sf1: the generation is the family's last digit
        category = re.match(r"^[a-z]+", family)[0]
        digits = re.findall(r"\d", family)
        generation = int(digits[-1]) if digits else 0
    return family, category, generation, size


def size_rank(size: str) -> float:
    """Sort key that puts sizes in their natural order: nano < ... < xlarge < 2xlarge < ... < metal.

    >>> sorted(["metal", "2xlarge", "large", "xlarge", "metal-24xl", "48xlarge"], key=size_rank)
    ['large', 'xlarge', '2xlarge', '48xlarge', 'metal-24xl', 'metal']
    """
    if size in _SIZES:
        return _SIZES[size]
    if m := re.fullmatch(r"(\d+)xlarge", size):
        return 4 + int(m[1])
    if m := re.fullmatch(r"metal-(\d+)xl", size):
        return 1000 + int(m[1])
    if size == "metal":
        return 2000
    return 3000  # unknown sizes last, in name order by the caller's tie-break


def record_from_api(item: dict[str, Any]) -> dict[str, Any]:
    """Flatten one ``DescribeInstanceTypes`` item into a snapshot row; raise ``KeyError`` if a field is missing."""
    net = item["NetworkInfo"]
    default_card = net.get("DefaultNetworkCardIndex", 0)
    cards = net.get("NetworkCards") or [
        {"NetworkCardIndex": 0, "MaximumNetworkInterfaces": net["MaximumNetworkInterfaces"]}]
    card = next(c for c in cards if c.get("NetworkCardIndex", 0) == default_card)
    family, category, generation, size = split_name(item["InstanceType"])
    return {
        "instance_type": item["InstanceType"],
        "family": family,
        "category": category,
        "generation": generation,
        "size": size,
        "enis": int(card["MaximumNetworkInterfaces"]),
        "enis_total": int(net["MaximumNetworkInterfaces"]),
        "network_cards": int(net.get("MaximumNetworkCards", len(cards))),
        "default_card_index": int(default_card),
        "ipv4_per_eni": int(net["Ipv4AddressesPerInterface"]),
        "ipv6_per_eni": int(net.get("Ipv6AddressesPerInterface", 0)),
        "ipv6_supported": bool(net.get("Ipv6Supported", False)),
        "hypervisor": item.get("Hypervisor", ""),
        "bare_metal": bool(item.get("BareMetal", False)),
        "vcpus": int(item["VCpuInfo"]["DefaultVCpus"]),
        "memory_mib": int(item["MemoryInfo"]["SizeInMiB"]),
        "network_performance": net.get("NetworkPerformance", ""),
        "architectures": " ".join(item.get("ProcessorInfo", {}).get("SupportedArchitectures", [])),
        "current_generation": bool(item.get("CurrentGeneration", False)),
        "burstable": bool(item.get("BurstablePerformanceSupported", False)),
    }


def fetch_instance_types(ec2_client: Any) -> list[dict[str, Any]]:
    """Every item of ``DescribeInstanceTypes`` from one client, following the paginator to the last page."""
    paginator = ec2_client.get_paginator("describe_instance_types")
    return [item for page in paginator.paginate(PaginationConfig={"PageSize": 100}) for item in page["InstanceTypes"]]


def _clients(ec2_client: Any, regions: Sequence[str]) -> list[tuple[str, Any]]:
    if ec2_client is None:
        import boto3

        return [(region, boto3.client("ec2", region_name=region)) for region in regions]
    if callable(ec2_client) and not hasattr(ec2_client, "get_paginator"):
        return [(region, ec2_client(region)) for region in regions]
    return [(ec2_client.meta.region_name, ec2_client)]


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh wrote: the snapshot path, the number of types and the provenance."""

    path: Path
    count: int
    provenance: dict[str, Any]


def refresh_instance_types(
    ec2_client: Any = None,
    regions: Sequence[str] = DEFAULT_REGIONS,
    *,
    path: Path | str | None = None,
    source: str = "EC2 DescribeInstanceTypes",
    force: bool = False,
    today: _dt.date | None = None,
) -> RefreshResult:
    """Read ``DescribeInstanceTypes`` in every region, merge, and write the snapshot atomically.

    ``ec2_client`` is a boto3 EC2 client (used alone), a callable ``region -> client``, or None (a boto3
    client per region of ``regions``). The union of all regions is kept, sorted by name. The CSV and its
    provenance (``<name>.provenance.json``: source, regions, date, count) are each written to a temporary
    file and renamed into place, so a reader never sees half a file. Refused with :class:`RefreshError`,
    leaving the snapshot as it was: an empty answer, an item missing a needed field, or (unless ``force``)
    fewer than 90 % of the types the current snapshot has.

    >>> import boto3, moto                                          # doctest: +SKIP
    >>> with moto.mock_aws():                                       # doctest: +SKIP
    ...     refresh_instance_types(boto3.client("ec2", "us-east-1"), path="/tmp/types.csv").count
    1395
    """
    path = Path(path) if path is not None else SNAPSHOT
    clients = _clients(ec2_client, regions)
    merged: dict[str, dict[str, Any]] = {}
    bad: list[str] = []
    for _region, client in clients:
        for item in fetch_instance_types(client):
            name = item.get("InstanceType", "<no InstanceType>")
            if name in merged:
                continue
            try:
                merged[name] = record_from_api(item)
            except (KeyError, TypeError, StopIteration, EkslibError) as exc:
                bad.append(f"{name} ({exc!r})")
    region_names = [region for region, _ in clients]
    if not merged:
        raise RefreshError(
            f"EC2 returned no instance types for regions {region_names}; the snapshot {path} is unchanged"
        )
    if bad:
        raise RefreshError(
            f"EC2 returned {len(bad)} instance types without the fields capacity needs "
            f"(first: {', '.join(bad[:3])}); the snapshot {path} is unchanged"
        )
    current = _count_rows(path)
    if current and len(merged) < MIN_SHARE_OF_CURRENT * current and not force:
        raise RefreshError(
            f"EC2 returned {len(merged)} instance types but the snapshot has {current}: that looks partial, "
            f"so {path} is unchanged (pass force=True, or --force, to replace it anyway)"
        )
    frame = pd.DataFrame(sorted(merged.values(), key=lambda r: r["instance_type"]), columns=list(COLUMNS))
    provenance = {
        "source": source,
        "regions": region_names,
        "date": (today or _dt.date.today()).isoformat(),
        "count": len(frame),
        "fields": "DescribeInstanceTypes: NetworkInfo (cards, ENIs, IPv4/IPv6 per ENI), Hypervisor, BareMetal, "
        "VCpuInfo, MemoryInfo, ProcessorInfo, CurrentGeneration, BurstablePerformanceSupported",
    }
    _write_atomically(path, frame.to_csv(index=False, lineterminator="\n"))
    _write_atomically(provenance_path(path), json.dumps(provenance, indent=2) + "\n")
    _load.cache_clear()
    _index.cache_clear()
    return RefreshResult(path, len(frame), provenance)


def snapshot_from_moto(
    path: Path | str | None = None, regions: Sequence[str] = DEFAULT_REGIONS, **kwargs: Any
) -> RefreshResult:
    """Regenerate the bundled snapshot offline: :func:`refresh_instance_types` against moto's EC2."""
    import boto3
    from moto import __version__ as moto_version
    from moto import mock_aws

    with mock_aws():
        return refresh_instance_types(
            lambda region: boto3.client(
                "ec2", region_name=region, aws_access_key_id="moto", aws_secret_access_key="moto"
            ),
            regions,
            path=path,
            source=f"EC2 DescribeInstanceTypes as served offline by moto {moto_version} (AWS's published catalogue)",
            **kwargs,
        )


def provenance_path(path: Path | str = SNAPSHOT) -> Path:
    """The provenance file beside a snapshot: ``instance_types.csv`` -> ``instance_types.provenance.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".provenance.json")


def load_provenance(path: Path | str = SNAPSHOT) -> dict[str, Any]:
    """Source, regions, date and count of the snapshot at ``path``."""
    return json.loads(provenance_path(path).read_text())


def _count_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open() as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path`` (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode a plain open() would
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise EkslibError(
            f"no instance-type snapshot at {path}; run `python -m ekslib refresh-data` or set EKSLIB_DATA_DIR"
        )
    frame = pd.read_csv(path, keep_default_na=False, dtype=dict.fromkeys(_INT_COLUMNS, "int64"))
    for column in _BOOL_COLUMNS:
        frame[column] = frame[column].astype(str).str.lower().eq("true")
    return frame.set_index("instance_type", drop=False).rename_axis(None)


def load_instance_types(path: Path | str | None = None) -> pd.DataFrame:
    """The snapshot as a DataFrame indexed by instance type (read once, then served from a cache; a copy).

    >>> frame = load_instance_types()
    >>> int(frame.loc["m5.large", "ipv4_per_eni"])
    10
    """
    return _load(Path(path) if path is not None else SNAPSHOT).copy()


@functools.lru_cache(maxsize=4)
def _index(path: Path) -> dict[str, InstanceType]:
    frame = _load(path)
    return {row.instance_type: InstanceType(*row) for row in frame[list(COLUMNS)].itertuples(index=False)}


def instance_type_names(path: Path | str | None = None) -> list[str]:
    """Every instance type of the snapshot, sorted."""
    return sorted(_index(Path(path) if path is not None else SNAPSHOT))


def instance_type_info(name: str, path: Path | str | None = None) -> InstanceType:
    """The :class:`InstanceType` record of ``name``; an unknown name raises with close suggestions.

    >>> instance_type_info("m5.lage")
    Traceback (most recent call last):
    ...
    ekslib.errors.UnknownInstanceTypeError: unknown instance type 'm5.lage'. Did you mean: m5.large, ...
    """
    index = _index(Path(path) if path is not None else SNAPSHOT)
    if not isinstance(name, str):
        raise EkslibError(f"an instance type is a name such as 'm5.large', not {name!r}")
    key = name.strip().lower()
    try:
        return index[key]
    except KeyError:
        raise UnknownInstanceTypeError(name, suggest(key, index), len(index)) from None


def families(path: Path | str | None = None) -> list[str]:
    """Every instance family in the snapshot, sorted by name."""
    return sorted({t.family for t in _index(Path(path) if path is not None else SNAPSHOT).values()})


def sizes_of(family: str, path: Path | str | None = None) -> list[str]:
    """The sizes of ``family`` in natural order (nano ... metal); an unknown family raises with suggestions."""
    index = _index(Path(path) if path is not None else SNAPSHOT)
    sizes = [t.size for t in index.values() if t.family == family]
    if not sizes:
        known = sorted({t.family for t in index.values()})
        hint = suggest(family, known)
        raise EkslibError(
            f"unknown instance family {family!r}" + (f"; did you mean: {', '.join(hint)}?" if hint else "")
        )
    return sorted(sizes, key=lambda s: (size_rank(s), s))
