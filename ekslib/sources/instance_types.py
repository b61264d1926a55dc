"""The data layer: every instance type, from EC2 and from the VPC CNI's own limits table, merged and loaded once.

Two sources, as ipamd itself combines them:

* EC2 ``DescribeInstanceTypes``
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypes.html): the bundled
  snapshot ``data/instance_types.csv`` is made by :func:`refresh_instance_types` run against the EC2 API as
  served offline by ``moto`` (which carries a copy of AWS's catalogue); with AWS credentials the same code
  reads the live API::

      python -m ekslib refresh-data           # offline, from moto's copy of the catalogue
      python -m ekslib refresh-data --live    # live EC2 API, with your AWS credentials

* the VPC CNI's generated table github.com/aws/amazon-vpc-cni-k8s ``pkg/vpc/vpc_ip_resource_limit.go``
  (bundled as ``data/published/vpc_ip_resource_limit.csv``, :func:`ekslib.sources.published.load_cni_limits`).
  ipamd reads its limits from this compiled-in table (``pkg/vpc/vpc.go`` ``GetInstance``) and calls
  ``DescribeInstanceTypes`` only for a type missing from it (``pkg/awsutils/awsutils.go``
  ``FetchInstanceTypeLimits``).

:func:`load_instance_types` has one row per type known to either source. The network limits (``enis``,
``enis_total``, ``network_cards``, ``default_card_index``, ``ipv4_per_eni``, ``hypervisor``, ``bare_metal``)
come from the VPC CNI's table where it knows the type, else from EC2; everything else (vCPUs, memory, IPv6,
architectures, ...) only EC2 has, so it is missing (``<NA>``, or ``None`` in an :class:`InstanceType`) for a
type only the VPC CNI's table knows. The column ``source`` says which: ``'both'``, ``'vpc-cni only'`` or
``'ec2 only'``. :func:`source_differences` lists every field the two sources disagree on.
The refresh writes only the EC2 snapshot; the VPC CNI's table is bundled as published.

>>> from ekslib.sources import instance_type_info
>>> t = instance_type_info("t3.medium")
>>> (t.enis, t.ipv4_per_eni, t.hypervisor, t.source)
(3, 6, 'nitro', 'both')
>>> p3 = instance_type_info("p3.2xlarge")
>>> (p3.enis, p3.ipv4_per_eni, p3.hypervisor, p3.vcpus, p3.source)
(4, 15, 'xen', None, 'vpc-cni only')
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

import numpy as np
import pandas as pd

from ekslib._progress import Progress, report
from ekslib.errors import EkslibError, RefreshError, UnknownInstanceTypeError, suggest
from ekslib.sources import published as _published
from ekslib.sources.paths import DATA_DIR

SNAPSHOT = DATA_DIR / "instance_types.csv"
DEFAULT_REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
#: A refresh that returns fewer types than this share of the current snapshot is refused as partial.
MIN_SHARE_OF_CURRENT = 0.9


#: Values of the ``source`` column: which of the two sources knows a type.
SOURCE_BOTH, SOURCE_CNI_ONLY, SOURCE_EC2_ONLY = "both", "vpc-cni only", "ec2 only"
SOURCES: tuple[str, ...] = (SOURCE_BOTH, SOURCE_CNI_ONLY, SOURCE_EC2_ONLY)


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One instance type, with the fields pod capacity needs (EC2 DescribeInstanceTypes and the VPC CNI's table).

    ``enis`` is the default network card's ``MaximumNetworkInterfaces``: the VPC CNI and its published
    ``eni-max-pods.txt`` count only that card ("For multi-card instance types ... calculated only
    against the default network card at index (0)"); ``enis_total`` is the whole instance's, all cards.
    The network fields come from the VPC CNI's limits table where it knows the type (what ipamd uses),
    else from EC2. ``hypervisor`` is ``'nitro'``, ``'xen'`` or ``''`` where none is reported (bare metal;
    the VPC CNI's table writes ``'unknown'`` there). The fields typed ``| None`` only EC2 has: they are
    None for a type only the VPC CNI's table knows (``source == 'vpc-cni only'``); ``python -m ekslib
    refresh-data --live`` fetches them from the live EC2 API.
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
    ipv6_per_eni: int | None
    ipv6_supported: bool | None
    hypervisor: str
    bare_metal: bool
    vcpus: int | None
    memory_mib: int | None
    network_performance: str | None
    architectures: str | None
    current_generation: bool | None
    burstable: bool | None
    source: str

    @property
    def nitro(self) -> bool:
        """True when the type's hypervisor is ``"nitro"`` (bare metal usually reports none)."""
        return self.hypervisor == "nitro"


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(InstanceType))
#: The columns of the EC2 snapshot ``data/instance_types.csv``, as :func:`refresh_instance_types` writes them.
SNAPSHOT_COLUMNS: tuple[str, ...] = COLUMNS[:-1]
#: Fields the VPC CNI's limits table gives (and wins on, where it knows a type).
NETWORK_FIELDS: tuple[str, ...] = ("enis", "enis_total", "network_cards", "default_card_index", "ipv4_per_eni",
                                   "hypervisor", "bare_metal")
#: Fields only EC2 gives: missing for a 'vpc-cni only' type (nullable dtypes in the merged frame).
EC2_ONLY_FIELDS: tuple[str, ...] = ("ipv6_per_eni", "ipv6_supported", "vcpus", "memory_mib", "network_performance",
                                    "architectures", "current_generation", "burstable")
_INT_COLUMNS = ("generation", "enis", "enis_total", "network_cards", "default_card_index", "ipv4_per_eni",
                "ipv6_per_eni", "vcpus", "memory_mib")
_BOOL_COLUMNS = ("ipv6_supported", "bare_metal", "current_generation", "burstable")
_NULLABLE_DTYPES = {name: "Int64" if name in _INT_COLUMNS else "boolean" if name in _BOOL_COLUMNS else "string"
                    for name in EC2_ONLY_FIELDS}
#: The VPC CNI's table spells "no hypervisor reported" as 'unknown' (as ipamd does for EC2's empty answer).
_NO_HYPERVISOR = {"unknown": ""}

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
    progress: Progress | None = None,
) -> RefreshResult:
    """Read ``DescribeInstanceTypes`` in every region, merge, and write the snapshot atomically.

    ``ec2_client`` is a boto3 EC2 client (used alone), a callable ``region -> client``, or None (a boto3
    client per region of ``regions``). The union of all regions is kept, sorted by name. The CSV and its
    provenance (``<name>.provenance.json``: source, regions, date, count) are each written to a temporary
    file and renamed into place, so a reader never sees half a file. Refused with :class:`RefreshError`,
    leaving the snapshot as it was: an empty answer, an item missing a needed field, or (unless ``force``)
    fewer than 90 % of the types the current snapshot has. ``progress(done, total, label)`` hears of each region
    as it is read (:mod:`ekslib._progress`).

    >>> import boto3, moto                                          # doctest: +SKIP
    >>> with moto.mock_aws():                                       # doctest: +SKIP
    ...     refresh_instance_types(boto3.client("ec2", "us-east-1"), path="/tmp/types.csv").count
    1395
    """
    path = Path(path) if path is not None else SNAPSHOT
    clients = _clients(ec2_client, regions)
    merged: dict[str, dict[str, Any]] = {}
    bad: list[str] = []
    for done, (region, client) in enumerate(clients, 1):
        items = fetch_instance_types(client)
        report(progress, done, len(clients), f"{region}: {len(items)} instance types")
        for item in items:
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
    frame = pd.DataFrame(sorted(merged.values(), key=lambda r: r["instance_type"]), columns=list(SNAPSHOT_COLUMNS))
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
    _clear_caches()
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


def _clear_caches() -> None:
    _load.cache_clear()
    _merged.cache_clear()
    _index.cache_clear()


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> pd.DataFrame:
    """The EC2 snapshot at ``path`` as written by the refresh (cached; callers copy)."""
    if not path.exists():
        raise EkslibError(
            f"no instance-type snapshot at {path}; run `python -m ekslib refresh-data` or set EKSLIB_DATA_DIR"
        )
    frame = pd.read_csv(path, keep_default_na=False, dtype=dict.fromkeys(_INT_COLUMNS, "int64"))
    for column in _BOOL_COLUMNS:
        frame[column] = frame[column].astype(str).str.lower().eq("true")
    return frame.set_index("instance_type", drop=False).rename_axis(None)


def _cni_network() -> pd.DataFrame:
    """The VPC CNI's limits table with the merged frame's network columns."""
    cni = _published.load_cni_limits()
    return pd.DataFrame({
        "enis": cni["card0_enis"],  # = ENILimit: gen_vpc_ip_limits.go sets it from the default card
        "enis_total": cni["enis_per_card"].map(lambda text: sum(int(n) for n in text.split(";"))),
        "network_cards": cni["network_cards"],
        "default_card_index": cni["default_card_index"],
        "ipv4_per_eni": cni["ipv4_limit"],
        "hypervisor": cni["hypervisor"].replace(_NO_HYPERVISOR),
        "bare_metal": cni["bare_metal"],
    }, index=cni.index.rename(None))


def _published_dir() -> Path:
    """Where the VPC CNI's table is read from now (a module attribute, so tests can point it elsewhere)."""
    return _published.PUBLISHED_DIR


@functools.lru_cache(maxsize=4)
def _merged(path: Path, published_dir: Path) -> pd.DataFrame:
    """One row per type of either source: network fields from the VPC CNI's table first, the rest from EC2.

    ``published_dir`` (where the VPC CNI's table is read from) is part of the cache key only.
    """
    ec2 = _load(path)
    cni = _cni_network()
    names = ec2.index.union(cni.index).sort_values()
    in_ec2, in_cni = names.isin(ec2.index), names.isin(cni.index)
    parts = [split_name(name) for name in names]
    frame = pd.DataFrame({
        "instance_type": names,
        "family": [p[0] for p in parts],
        "category": [p[1] for p in parts],
        "generation": np.array([p[2] for p in parts], dtype="int64"),
        "size": [p[3] for p in parts],
    }, index=names)
    ec2_rows, cni_rows = ec2.reindex(names), cni.reindex(names)
    for column in SNAPSHOT_COLUMNS:
        if column in NETWORK_FIELDS:
            values = cni_rows[column].where(in_cni, ec2_rows[column])
            frame[column] = values.astype(ec2[column].dtype)
        elif column in EC2_ONLY_FIELDS:
            frame[column] = ec2[column].astype(_NULLABLE_DTYPES[column]).reindex(names)
    frame["source"] = np.select([in_ec2 & in_cni, in_cni], [SOURCE_BOTH, SOURCE_CNI_ONLY], SOURCE_EC2_ONLY)
    return frame[list(COLUMNS)].rename_axis(None)


def load_instance_types(path: Path | str | None = None) -> pd.DataFrame:
    """Every instance type of EC2's snapshot or the VPC CNI's table, indexed by name (cached; a copy).

    ``path`` is the EC2 snapshot to merge (default: the bundled one); the VPC CNI's table is the bundled
    ``data/published/vpc_ip_resource_limit.csv``. Network limits come from the VPC CNI's table where it knows
    the type, the rest from EC2; ``source`` says which source knows each type. The EC2-only columns use
    nullable dtypes (``Int64``, ``boolean``, ``string``): ``<NA>`` for a 'vpc-cni only' type.

    >>> frame = load_instance_types()
    >>> int(frame.loc["m5.large", "ipv4_per_eni"])
    10
    >>> frame.loc["p3.2xlarge", "source"], frame.loc["p3.2xlarge", "vcpus"]
    ('vpc-cni only', <NA>)
    """
    return _merged(Path(path) if path is not None else SNAPSHOT, _published_dir()).copy()


def load_ec2_snapshot(path: Path | str | None = None) -> pd.DataFrame:
    """The EC2 snapshot alone, as :func:`refresh_instance_types` wrote it (cached; a copy).

    >>> load_ec2_snapshot().loc["i7ie.48xlarge", ["enis", "network_cards"]].tolist()  # moto's copy of EC2
    [8, 2]
    """
    return _load(Path(path) if path is not None else SNAPSHOT).copy()


def source_differences(path: Path | str | None = None) -> pd.DataFrame:
    """Every (instance type, field) where the EC2 snapshot and the VPC CNI's table disagree, with both values.

    Compares :data:`NETWORK_FIELDS` of the types both sources know; ``'unknown'`` (the VPC CNI's table) and
    ``''`` (EC2) both mean "no hypervisor reported" and count as equal. Indexed by ``(instance_type, field)``;
    columns ``ec2`` and ``vpc_cni`` hold the two values (the merged data uses ``vpc_cni``).

    >>> diff = source_differences()
    >>> diff.loc[("i7ie.48xlarge", "network_cards")].tolist()  # moto's copy of EC2, then AWS's newer table
    [2, 1]
    """
    ec2 = _load(Path(path) if path is not None else SNAPSHOT)
    cni = _cni_network()
    shared = ec2.index.intersection(cni.index).sort_values()
    rows = []
    for column in NETWORK_FIELDS:
        left, right = ec2.loc[shared, column], cni.loc[shared, column]
        if column == "hypervisor":
            differs = left.replace(_NO_HYPERVISOR) != right
        else:
            differs = left != right
        rows += [(name, column, left[name].item() if hasattr(left[name], "item") else left[name],
                  right[name].item() if hasattr(right[name], "item") else right[name])
                 for name in shared[differs.to_numpy()]]
    rows.sort(key=lambda row: (row[0], NETWORK_FIELDS.index(row[1])))
    frame = pd.DataFrame(rows, columns=["instance_type", "field", "ec2", "vpc_cni"], dtype=object)
    return frame.set_index(["instance_type", "field"])


def _plain(value: Any) -> Any:
    """A DataFrame cell as a plain Python value for a dataclass: ``<NA>`` -> None."""
    return None if value is pd.NA else value


@functools.lru_cache(maxsize=4)
def _index(path: Path, published_dir: Path) -> dict[str, InstanceType]:
    frame = _merged(path, published_dir)
    columns = [[_plain(v) for v in frame[name].tolist()] for name in COLUMNS]
    return {row[0]: InstanceType(*row) for row in zip(*columns)}


def _types(path: Path | str | None) -> dict[str, InstanceType]:
    return _index(Path(path) if path is not None else SNAPSHOT, _published_dir())


def instance_type_names(path: Path | str | None = None) -> list[str]:
    """Every instance type of either source, sorted."""
    return sorted(_types(path))


def instance_type_info(name: str, path: Path | str | None = None) -> InstanceType:
    """The :class:`InstanceType` record of ``name``; an unknown name raises with close suggestions.

    >>> instance_type_info("m5.lage")
    Traceback (most recent call last):
    ...
    ekslib.errors.UnknownInstanceTypeError: unknown instance type 'm5.lage'. Did you mean: m5.large, ...
    """
    index = _types(path)
    if not isinstance(name, str):
        raise EkslibError(f"an instance type is a name such as 'm5.large', not {name!r}")
    try:
        return index[name]
    except KeyError:
        pass
    key = name.strip().lower()
    try:
        return index[key]
    except KeyError:
        raise UnknownInstanceTypeError(name, suggest(key, index), len(index)) from None


def families(path: Path | str | None = None) -> list[str]:
    """Every instance family of either source, sorted by name."""
    return sorted({t.family for t in _types(path).values()})


def sizes_of(family: str, path: Path | str | None = None) -> list[str]:
    """The sizes of ``family`` in natural order (nano ... metal); an unknown family raises with suggestions."""
    index = _types(path)
    sizes = [t.size for t in index.values() if t.family == family]
    if not sizes:
        known = sorted({t.family for t in index.values()})
        hint = suggest(family, known)
        raise EkslibError(
            f"unknown instance family {family!r}" + (f"; did you mean: {', '.join(hint)}?" if hint else "")
        )
    return sorted(sizes, key=lambda s: (size_rank(s), s))
