"""The aws-node settings that shape a node's data plane: SNAT, the 0x80 connmark, node-port support.

Source: github.com/aws/amazon-vpc-cni-k8s README ("Environment variables") and ``pkg/networkutils/network.go``
(``AWS_VPC_K8S_CNI_EXTERNALSNAT``, ``AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS``, ``AWS_VPC_K8S_CNI_RANDOMIZESNAT``,
``AWS_VPC_CNI_NODE_PORT_SUPPORT``, ``AWS_VPC_K8S_CNI_CONNMARK``).

>>> VpcCniSettings(external_snat=True).policy_rule_1024
True
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network

from ekslib._checks import parse_ipv4_network
from ekslib.errors import EkslibError
from ekslib.facts import CONNMARK

#: ``AWS_VPC_K8S_CNI_RANDOMIZESNAT`` values and the flag each adds to the SNAT rule (network.go ``typeOfSNAT``).
RANDOMIZE_SNAT = {"prng": "--random-fully", "hashrandom": "--random", "none": ""}
#: The two layouts of the SNAT and connmark chains: one chain since v1.16.2, a chain of chains before.
LAYOUTS = ("current", "legacy")


@dataclass(frozen=True)
class VpcCniSettings:
    """The aws-node environment that shapes a node's rules (VPC CNI README, "Environment variables").

    ``connmark=False`` is not a setting of the CNI: it models a node whose 0x80 connmark rules and policy rule
    1024 are missing (an old CNI, or someone deleted them), to show what they are for.

    >>> VpcCniSettings(exclude_snat_cidrs=("10.20.0.0/16",)).exclude_snat_cidrs
    (IPv4Network('10.20.0.0/16'),)
    """

    external_snat: bool = False
    exclude_snat_cidrs: tuple[IPv4Network, ...] = ()
    randomize_snat: str = "prng"
    node_port_support: bool = True
    mark: int = CONNMARK
    layout: str = "current"
    connmark: bool = True

    def __post_init__(self) -> None:
        cidrs = (self.exclude_snat_cidrs,) if isinstance(self.exclude_snat_cidrs, str) else self.exclude_snat_cidrs
        object.__setattr__(self, "exclude_snat_cidrs", tuple(
            parse_ipv4_network(c, "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS entry") for c in cidrs))
        if self.randomize_snat not in RANDOMIZE_SNAT:
            raise EkslibError(f"AWS_VPC_K8S_CNI_RANDOMIZESNAT={self.randomize_snat!r} is not one of "
                              f"{', '.join(RANDOMIZE_SNAT)}")
        if self.layout not in LAYOUTS:
            raise EkslibError(f"layout {self.layout!r} is not one of {', '.join(LAYOUTS)} (current: v1.16.2 and "
                              f"later; legacy: the chain of chains before)")

    @property
    def policy_rule_1024(self) -> bool:
        """Whether ipamd adds ``1024: from all fwmark 0x80/0x80 lookup main`` (network.go: node-port support or
        no external SNAT)."""
        return self.connmark and (self.node_port_support or not self.external_snat)
