"""Predict, then check: small exercises for notebooks 01-07 whose answers ekslib computes.

Each :class:`Exercise` asks one question of what a notebook teaches (how many pods a c5.xlarge runs, which address
the internet sees for a pod in a private subnet, which rule drops a packet), takes the learner's answer and says
whether it is right, and why, in a :class:`Feedback`. The answer is never written here: each exercise has a
``solve`` function that asks the library (:func:`ekslib.capacity.max_pods`, :func:`ekslib.ipam.steady_state`,
:func:`ekslib.flows.scenario`...), run on first use and cached, so importing this module loads nothing heavy.
The explanations cite the sources of the facts, as the library's docstrings do; the wrong answers learners are
likely to give (the ENI primaries counted as pod addresses, every network card's ENIs, the NAT gateway
forgotten...) get their own "why not".

Answers are read tolerantly: a number as ``29``, ``" 29 pods"``, ``3 x (6 - 1) + 2`` or ``0x80``; a choice or a
text in any case and spacing; an address with or without its port. An answer that cannot be read gets a message
saying what is expected, never an exception. :data:`EXERCISES` lists them by notebook, :func:`exercise` finds one
by id; :mod:`ekslib.widgets.exercises` is the GUI.

>>> from ekslib.study.exercises import exercise
>>> ex = exercise("01-c5xlarge-pods")
>>> ex.notebook, ex.kind
('01_pod_capacity.ipynb', 'number')
>>> ex.answer
58
>>> ex.check(" 58 pods").right, ex.check("4 x (15 - 1) + 2").right
(True, True)
>>> print(ex.check("60").message)
Not 60: that gives every address to pods, the ENIs' primaries too: each ENI's first address is the ENI's own, never a
pod's.
>>> ex.check("lots").valid
False

Sources: github.com/aws/amazon-vpc-cni-k8s (``scripts/gen_vpc_ip_limits.go``, ``misc/eni-max-pods.txt``,
``docs/eni-and-ip-target.md``, ``pkg/ipamd/ipamd.go``, ``pkg/networkutils/network.go``,
``cmd/routed-eni-cni-plugin/driver/driver.go``, issue #75 and PR #130); github.com/kubernetes/kubernetes
``pkg/proxy/iptables/proxier.go``; the Amazon VPC User Guide ("NAT gateways", "Internet gateways"); the study notes
(Sigrid Jin, "Notes on EKS Networking in AWS CNI", PKOS study week 2, Medium, 28 January 2023).
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ekslib.errors import EkslibError, suggest

__all__ = ["EXERCISES", "KINDS", "Exercise", "Feedback", "Solution", "exercise", "exercises_of", "parse_number"]

#: The kinds of answer an exercise takes.
KINDS = ("number", "choice", "text")


@dataclass(frozen=True, eq=False)
class Solution:
    """What an exercise's ``solve`` returns: the answer, why it is the answer, the figures its prompt shows
    (``facts``, filled into the prompt's ``{placeholders}``) and the likely wrong answers with why each is wrong."""

    answer: int | str
    why: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    mistakes: Mapping[int | str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``right``, and a ``message`` naming the answer and saying why it is right or
    wrong; ``valid`` is False when the answer could not be read at all (the message says what is expected)."""

    right: bool
    message: str
    valid: bool = True


@dataclass(frozen=True)
class Exercise:
    """One "predict, then check" question of a notebook.

    ``kind`` is "number", "choice" (one of ``choices``) or "text"; ``solve`` computes the :class:`Solution` with
    ekslib (once, on first use); ``prompt`` may name the solution's ``facts`` as ``{placeholders}`` (the rendered
    question is :attr:`question`); ``hint`` points the way without the answer; ``source`` says where the fact
    comes from; ``unit`` follows a number in messages ("pods").
    """

    id: str
    notebook: str
    prompt: str
    kind: str
    solve: Callable[[], Solution] = field(repr=False, compare=False)
    hint: str = ""
    choices: tuple[str, ...] = ()
    source: str = ""
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise EkslibError(f"exercise {self.id!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if (self.kind == "choice") != bool(self.choices) or (self.kind == "choice" and len(self.choices) < 2):
            raise EkslibError(f"exercise {self.id!r}: a 'choice' exercise needs two choices or more, and only it")
        if not self.notebook.endswith(".ipynb") or not self.id.startswith(self.notebook[:2] + "-"):
            raise EkslibError(f"exercise {self.id!r}: its id starts with its notebook's number ({self.notebook!r})")

    @functools.cached_property
    def solution(self) -> Solution:
        """The solution, computed by ``solve`` with ekslib on first use and kept."""
        return self.solve()

    @property
    def answer(self) -> int | str:
        """The right answer (computed with ekslib)."""
        return self.solution.answer

    @property
    def question(self) -> str:
        """The prompt with the solution's facts filled in."""
        facts = self.solution.facts
        return self.prompt.format_map(facts) if facts else self.prompt

    @property
    def explanation(self) -> str:
        """Why the answer is right, and where the fact comes from."""
        why = self.solution.why
        return f"{why} (Source: {self.source}.)" if self.source else why

    def answer_text(self) -> str:
        """The answer revealed, with its explanation."""
        return f"The answer: {self._shown(self.answer)}. {self.explanation}"

    def check(self, answer: Any) -> Feedback:
        """The verdict on ``answer`` (a number or text as the learner typed it); never raises for bad input."""
        if self.kind == "number":
            return self._check_number(answer)
        return self._check_text(answer)

    # -- checking
    def _shown(self, value: Any) -> str:
        return f"{value} {self.unit}" if self.kind == "number" and self.unit else str(value)

    def _wrong(self, shown: str, key: Any, fallback: str) -> Feedback:
        why = self.solution.mistakes.get(key)
        if why is None:
            why = fallback + (f" Hint: {self.hint}" if self.hint else "")
        return Feedback(False, f"Not {shown}: {why}")

    def _check_number(self, answer: Any) -> Feedback:
        if answer is None or str(answer).strip() == "":
            return Feedback(False, "No answer yet: type a number, then check.", valid=False)
        try:
            value = parse_number(answer)
        except EkslibError as error:
            return Feedback(False, str(error), valid=False)
        typed = str(answer).strip()
        shown = str(value) if typed in (str(value), "") else f"{typed} (= {value})"
        expected = self.answer
        if value == expected:
            return Feedback(True, f"Right: {self._shown(value)}. {self.explanation}")
        if isinstance(value, float):
            return Feedback(False, f"Not {shown}: the answer is a whole number"
                                   + (f" of {self.unit}." if self.unit else "."))
        fallback = "that is too high." if value > expected else "that is too low."
        return self._wrong(shown, value, fallback)

    def _check_text(self, answer: Any) -> Feedback:
        typed = "" if answer is None else str(answer).strip()
        if not typed:
            what = "choose one of the answers" if self.kind == "choice" else "type an answer"
            return Feedback(False, f"No answer yet: {what}, then check.", valid=False)
        given = _normal(typed)
        if self.kind == "choice":
            chosen = next((c for c in self.choices if _normal(c) == given), None)
            if chosen is None:
                return Feedback(False, f"{typed!r} is not one of the choices: {'; '.join(self.choices)}.",
                                valid=False)
            if chosen == self.answer:
                return Feedback(True, f"Right: {chosen}. {self.explanation}")
            return self._wrong(chosen, chosen, "that is not the answer.")
        expected = str(self.answer)
        if _IPV4.fullmatch(expected):
            found = _IPV4_PORT.fullmatch(given)
            if found is None:
                return Feedback(False, f"{typed!r} is not an IPv4 address: type one as a.b.c.d (a port may follow, "
                                       f"as in 192.0.2.1:443).", valid=False)
            given = found[1]
        if given == _normal(expected):
            return Feedback(True, f"Right: {expected}. {self.explanation}")
        mistakes = {_normal(str(k)): k for k in self.solution.mistakes}
        return self._wrong(typed, mistakes.get(given, given), "that is not the answer.")


_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_IPV4_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?")


def _normal(text: str) -> str:
    """Text compared as a learner means it: lower case, single spaces, no quotes or final full stop."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    return re.sub(r"^[`'\"\s]+|[`'\"\s.]+$", "", text)


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.USub: operator.neg, ast.UAdd: operator.pos,
}


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError("not arithmetic")


def parse_number(answer: Any) -> int | float:
    """A number as a learner types it: ``29``, ``" 29 pods"``, ``1,391``, ``0x80``, ``4 x (15 - 1) + 2``,
    ``max pods = 58`` (the last part after ``=``); an int, or a float that is not whole. Anything else raises an
    EkslibError saying what is expected.

    >>> parse_number(" 29 pods"), parse_number("3 x (6 - 1) + 2"), parse_number("0x80"), parse_number("1,391")
    (29, 17, 128, 1391)
    >>> parse_number("about twenty")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: 'about twenty' is not a number: type a whole number such as 17 (a sum such as
    3 x 5 + 2 works too)
    """
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        value = answer
    else:
        text = "" if answer is None else str(answer)
        problem = EkslibError(f"{text.strip()!r} is not a number: type a whole number such as 17 (a sum such as "
                              f"3 x 5 + 2 works too)")
        core = text.strip().lower().rsplit("=", 1)[-1]
        core = re.sub(r"\b0x[0-9a-f]+\b", lambda m: str(int(m[0], 16)), core)
        core = re.sub(r"(?<=\d),(?=\d{3}\b)", "", core)
        core = re.sub(r"(?<=[\d)])\s*[x×·]\s*(?=[\d(])", "*", core)
        core = re.sub(r"^[a-z\s:~'\"]+|[a-z\s.!?'\"]+$", "", core)
        if not core or len(core) > 80 or re.search(r"[a-z]", core):
            raise problem
        try:
            value = _evaluate(ast.parse(core, mode="eval"))
        except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
            raise problem from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


# -- the solvers: each asks ekslib, nothing is written down twice ----------------------------------------------------

CNI_SOURCE = "github.com/aws/amazon-vpc-cni-k8s"


def _c5xlarge_pods() -> Solution:
    from ekslib.capacity import max_pods
    from ekslib.sources.instance_types import instance_type_info

    t = instance_type_info("c5.xlarge")
    answer, slots = max_pods("c5.xlarge"), t.ipv4_per_eni - 1
    return Solution(
        answer,
        f"{t.enis} ENIs x ({t.ipv4_per_eni} addresses - 1 primary) + 2 = {t.enis} x {slots} + 2 = {answer}. Each "
        f"ENI's first (primary) address is the ENI's own; aws-node and kube-proxy run on the node's own address "
        f"and count against max pods without taking a VPC address.",
        facts={"enis": t.enis, "ipv4": t.ipv4_per_eni},
        mistakes={
            t.enis * t.ipv4_per_eni: "that gives every address to pods, the ENIs' primaries too: each ENI's first "
                                     "address is the ENI's own, never a pod's.",
            t.enis * slots: "that counts the pod addresses only: aws-node and kube-proxy (host network) count "
                            "against max pods as well, on the node's own address (the + 2).",
            t.enis * t.ipv4_per_eni + 2: "the ENIs' primary addresses never go to pods: one slot fewer per ENI.",
        })


def _c6in_multicard() -> Solution:
    from ekslib.capacity import max_pods
    from ekslib.sources.instance_types import instance_type_info

    t = instance_type_info("c6in.32xlarge")
    answer, slots = max_pods("c6in.32xlarge"), t.ipv4_per_eni - 1
    return Solution(
        answer,
        f"Only the default network card's ENIs count: the VPC CNI attaches ENIs on card 0 alone, so "
        f"{t.enis} x ({t.ipv4_per_eni} - 1) + 2 = {answer}, not {t.enis_total} ENIs' worth.",
        facts={"cards": t.network_cards, "enis_total": t.enis_total, "enis": t.enis, "ipv4": t.ipv4_per_eni},
        mistakes={
            t.enis_total * slots + 2: "that counts the ENIs of every network card: the VPC CNI attaches ENIs on "
                                      "the default card (index 0) only.",
            t.enis * slots: "right ENIs and slots, but add the 2 host-network pods (aws-node, kube-proxy).",
            t.enis * t.ipv4_per_eni + 2: "each ENI's primary address is its own, never a pod's: one slot fewer "
                                         "per ENI.",
        })


def _t2xlarge_prefix() -> Solution:
    from ekslib.capacity import max_pods, prefix_delegation_supported
    from ekslib.facts import DEFAULT_CNI_VERSION, IPS_PER_PREFIX
    from ekslib.sources.instance_types import instance_type_info

    t = instance_type_info("t2.xlarge")
    answer, slots = max_pods("t2.xlarge", prefix_delegation=True), t.ipv4_per_eni - 1
    supported = prefix_delegation_supported("t2.xlarge")
    return Solution(
        answer,
        f"A t2.xlarge runs on the {t.hypervisor or 'unknown'} hypervisor, not Nitro, and is not bare metal: ipamd "
        f"delegates no prefixes there (prefix delegation supported: {supported}) and falls back to secondary IPs, "
        f"so prefix delegation changes nothing: {t.enis} x ({t.ipv4_per_eni} - 1) + 2 = {answer}.",
        facts={"enis": t.enis, "ipv4": t.ipv4_per_eni, "cni": DEFAULT_CNI_VERSION},
        mistakes={
            t.enis * slots * IPS_PER_PREFIX + 2: f"that puts a /28 prefix ({IPS_PER_PREFIX} addresses) in every "
                                                 f"slot, which needs a Nitro (or bare-metal) instance.",
            t.enis * slots * IPS_PER_PREFIX: "that counts a /28 prefix per slot, which needs a Nitro (or bare-metal) "
                                             "instance.",
        })


def _m5large_one_pod() -> Solution:
    from ekslib.ipam import PoolSettings, node_limits, steady_state

    limits = node_limits("m5.large", PoolSettings())
    state, slots = steady_state("m5.large", 1), limits.slots_per_eni
    answer = state.subnet_addresses
    return Solution(
        answer,
        f"WARM_ENI_TARGET=1 keeps a whole ENI's worth ({slots}) of addresses free. The pod leaves {slots - 1} free "
        f"on eth0, fewer than {slots}, so ipamd attaches a second ENI with all its {slots}: {state.ips} pod "
        f"addresses ({state.unused} unused) plus the primary addresses of the {state.enis} ENIs = {answer}.",
        facts={"enis": limits.enis, "slots": slots},
        mistakes={
            1: "ipamd does not take addresses one pod at a time: it keeps a warm pool, a whole ENI's worth of free "
               "addresses with the default WARM_ENI_TARGET=1.",
            state.ips: "those are the pod addresses; each ENI's primary address comes from the subnet too.",
            slots + 1: "one ENI is not enough: the pod leaves fewer than an ENI's worth free, so ipamd attaches a "
                       "second one.",
            slots: "one ENI's slots, but the pod leaves fewer than an ENI's worth free, so ipamd attaches a second "
                   "ENI, and each ENI's primary address counts too.",
        })


def _warm_ip_target() -> Solution:
    from ekslib.ipam import steady_state

    state, default = steady_state("t3.medium", 3, warm_ip_target=2), steady_state("t3.medium", 3)
    answer = state.ips
    return Solution(
        answer,
        f"WARM_IP_TARGET overrides WARM_ENI_TARGET: ipamd keeps 2 addresses free beyond the {state.assigned} "
        f"assigned, {state.assigned} + 2 = {answer}, all on the primary ENI ({state.enis} ENI).",
        mistakes={
            default.ips: "that is the default pool (WARM_ENI_TARGET=1: a whole spare ENI's worth); WARM_IP_TARGET "
                         "replaces it with a count of free addresses.",
            state.assigned: "the pods' addresses, but WARM_IP_TARGET=2 keeps 2 free as well.",
            2: "2 are the free ones; the 3 pods hold theirs as well.",
        })


def _minimum_ip_target_alone() -> Solution:
    from ekslib.ipam import steady_state

    state = steady_state("m5.large", 12, minimum_ip_target=8)
    answer = state.pending
    return Solution(
        answer,
        f"Without WARM_IP_TARGET ipamd takes it as 0: once the minimum, {state.ips} addresses, is attached it is "
        f"short of nothing, so the pool stops there and {state.pods} - {state.ips} = {answer} pods wait in "
        f"ContainerCreating. The VPC CNI README: this configuration 'will prevent future ENIs/IPs from being "
        f"allocated'; set WARM_IP_TARGET too.",
        mistakes={0: "MINIMUM_IP_TARGET alone is a ceiling as well as a floor: ipamd treats the unset WARM_IP_TARGET "
                     "as 0 and stops adding addresses once the minimum is attached."})


def _aws_node_address() -> Solution:
    from ekslib.cluster import load_sample

    c = load_sample("two-node")
    pod = next(p for p in c.pods if p.name.startswith("aws-node"))
    role = c.address_info(pod.address).role
    answer = {"node address": ADDRESS_CHOICES[0], "pod address": ADDRESS_CHOICES[1],
              "ENI primary address": ADDRESS_CHOICES[2]}.get(role, role)
    return Solution(
        answer,
        f"{pod.key} runs with hostNetwork: true in its node's own network namespace: it uses {pod.address}, the "
        f"primary address of eth0, which is the node's address ('{role}'); it has no veth and no address of its own.",
        mistakes={ADDRESS_CHOICES[1]: "secondary addresses go to pods with their own network namespace; a "
                                      "host-network pod has none, and no veth.",
                  ADDRESS_CHOICES[2]: "secondary ENIs' primaries are the ENIs' own; host-network pods share eth0's, "
                                      "the node's address.",
                  ADDRESS_CHOICES[3]: "169.254.1.1 is the gateway of pods with their own namespace, held by no "
                                      "interface; host-network pods route as the node does."})


ADDRESS_CHOICES = ("the node's own address (eth0's primary)", "a secondary address of eth0",
                   "the primary address of a secondary ENI", "169.254.1.1")


def _pod_gateway() -> Solution:
    from ekslib.cluster import load_sample
    from ekslib.dataplane import node_dataplane
    from ekslib.linux import ip_route_text

    c = load_sample("two-node")
    pod = next(p for p in c.pods if p.name.startswith("coredns") and p.node == c.nodes[0].name)
    routes = ip_route_text(node_dataplane(c, pod.node), pod=pod.key)
    answer = re.search(r"default via (\S+)", routes)[1]
    node = c.node(pod.node)
    return Solution(
        answer,
        f"In {pod.key}, ip route prints: {'; '.join(routes.splitlines())}. {answer} is link-local and held by no "
        f"interface; a permanent neighbour entry maps it to the MAC address of the veth's host end, so every packet "
        f"lands on the node, whose routes take over.",
        mistakes={str(node.address): "that is the node's address: the pod's route does not point at it, it points "
                                     "at a link-local address no interface holds.",
                  str(c.subnet(node.primary_eni.subnet_id).router): "the subnet's router is the node's gateway, "
                                                                    "not the pod's."})


def _rule_1536_table() -> Solution:
    from ekslib.cluster import load_sample
    from ekslib.dataplane import node_dataplane
    from ekslib.facts import RULE_FROM_POD

    c = load_sample("two-node")
    node = c.nodes[0]
    eni = node.enis[1]
    pod = c.pods_on_eni(eni.id)[0]
    rule = next(r for r in node_dataplane(c, node.name).rules
                if r.priority == RULE_FROM_POD and r.src.network_address == pod.address)
    answer = int(rule.table)
    return Solution(
        answer,
        f"The rule is '{rule.text().replace(chr(9), ' ')}': the VPC CNI numbers an ENI's route table by its device "
        f"number + 1, and {eni.interface} is device 1, so table {answer}, whose default route leaves by "
        f"{eni.interface}. The EC2 source/destination check accepts the pod's packets only from the ENI that holds "
        f"its address.",
        facts={"pod": pod.key, "address": pod.address, "eni": eni.interface},
        mistakes={1: "table N is the device number + 1: eth1 is device 1.",
                  254: "254 is the main table: rule 1536 sends the pod's traffic away from it, to eth1's own table.",
                  0: "table 0 is not a route table; table N is the device number + 1."})


def _same_node_rule() -> Solution:
    from ekslib.flows.scenarios import scenario

    flow = scenario("pod-to-pod-same-node")
    hop = next(h for h in flow.hops if h.kind == "policy-rule")
    answer = int(hop.rule.split(":")[0])
    return Solution(
        answer,
        f"Rule '{hop.rule.replace(chr(9), ' ')}' sends traffic to a pod of the node to the main table, whose /32 "
        f"route hands it to the pod's veth: routed, no bridge, no ARP between pods.",
        mistakes={1024: "1024 (fwmark 0x80) is for marked connections leaving by eth0: NodePorts and traffic "
                        "leaving the VPC.",
                  1536: "1536 is from a pod on a secondary ENI, sending out of that ENI.",
                  32766: "32766 (from all lookup main) comes too late: a higher-priority rule matches first.",
                  32765: "32765 is from an ENI's own primary address."})


def _secondary_eni_exit() -> Solution:
    from ekslib.flows.scenarios import scenario

    flow = scenario("pod-to-pod-cross-node", secondary_eni=True)
    answer = next(h.where.device for h in flow.hops if h.kind == "eni")
    rule = next(h.rule for h in flow.hops if h.kind == "policy-rule")
    return Solution(
        answer,
        f"Rule '{rule.replace(chr(9), ' ')}' sends it to the table of the ENI that holds the pod's address, "
        f"whose default route leaves by {answer}. EC2's source/destination check lets an ENI send only from an "
        f"address it holds.",
        mistakes={"eth0": "the main table's default route is eth0, but rule 1536 comes first for a pod whose address "
                          "a secondary ENI holds; out of eth0 the VPC would drop the packet.",
                  "eth2": "eth2 holds no address of this pod: EC2 would drop the packet."})


def _cross_node_seen_source() -> Solution:
    from ekslib.flows.scenarios import scenario, scenario_cluster

    cluster = scenario_cluster()
    flow = scenario("pod-to-pod-cross-node")
    role = cluster.address_info(flow.seen_source.ip).role
    answer = {"pod address": SEEN_CHOICES[0], "node address": SEEN_CHOICES[1]}.get(role, role)
    return Solution(
        answer,
        f"The receiver sees {flow.seen_source.ip} ('{role}'): pod addresses are VPC addresses, the subnet's local "
        f"route carries them as they are, and AWS-SNAT-CHAIN-0 RETURNs for the VPC's CIDR, so nothing translates.",
        mistakes={SEEN_CHOICES[1]: "the node SNATs only traffic leaving the VPC: AWS-SNAT-CHAIN-0 RETURNs for the "
                                   "VPC's CIDR.",
                  SEEN_CHOICES[2]: "there is no overlay: the VPC routes pod addresses natively, without "
                                   "encapsulation."})


SEEN_CHOICES = ("the sending pod's own address", "the sending node's address", "an overlay (VXLAN) address")


def _private_internet_source() -> Solution:
    from ekslib.flows.scenarios import scenario, scenario_cluster
    from ekslib.flows.vpc import VpcFabric

    cluster = scenario_cluster("private")
    flow = scenario("pod-to-internet")
    pod = cluster.pod(flow.source.removeprefix("pod "))
    node = cluster.node(pod.node)
    nat = VpcFabric.of(cluster).nat_gateway
    answer = str(flow.seen_source.ip)
    return Solution(
        answer,
        f"Two translations: the node's SNAT (AWS-SNAT-CHAIN-0, to {node.address}), then the NAT gateway's, to its "
        f"Elastic IP {nat.elastic_ip}, where the private subnet's route table sends 0.0.0.0/0.",
        facts={"pod": pod.address, "node": node.address, "eip": nat.elastic_ip},
        mistakes={str(pod.address): "the pod's address never leaves the node: AWS-SNAT-CHAIN-0 SNATs traffic for "
                                    "outside the VPC to the node's address.",
                  str(node.address): "that is after the node's SNAT; a private subnet's traffic to the internet goes "
                                     "through the NAT gateway, which translates again."})


def _secondary_eni_peer_source() -> Solution:
    from ekslib.flows.scenarios import scenario, scenario_cluster

    cluster = scenario_cluster("private")
    flow = scenario("pod-to-internet", secondary_eni=True, destination="peered-vpc")
    pod = cluster.pod(flow.source.removeprefix("pod "))
    role = cluster.address_info(flow.seen_source.ip).role
    answer = {"pod address": SNAT_CHOICES[0], "ENI primary address": SNAT_CHOICES[1],
              "node address": SNAT_CHOICES[2]}.get(role, role)
    return Solution(
        answer,
        f"The peer sees {flow.seen_source.ip} ('{role}'): the VPC CNI writes one SNAT rule per node, to the primary "
        f"address of the primary ENI, whichever ENI holds the pod's address ({cluster.eni(pod.eni_id).interface} "
        f"here). The notes' 'main IP address on each ENI' is wrong.",
        mistakes={SNAT_CHOICES[0]: "the peered VPC is outside the VPC's CIDR, so AWS-SNAT-CHAIN-0 SNATs (unless "
                                   "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS lists it).",
                  SNAT_CHOICES[1]: "that is the notes' claim, and it is wrong: there is one SNAT rule per node, to "
                                   "eth0's primary address."})


SNAT_CHOICES = ("the pod's own address", "the primary address of the pod's ENI (eth1)",
                "the node's address (eth0's primary)")


def _external_snat_public() -> Solution:
    from ekslib.flows.scenarios import scenario

    flow = scenario("pod-to-internet", subnet="public", external_snat=True)
    last = flow.hops[-1]
    if flow.delivered:
        answer = OUTCOME_CHOICES[0]
    elif last.where.namespace == "internet gateway":
        answer = OUTCOME_CHOICES[2]
    else:
        answer = OUTCOME_CHOICES[3]
    return Solution(
        answer,
        f"With external SNAT the node writes no SNAT rule, so the pod's own address leaves the node; {flow.drop_reason}"
        f". A NAT gateway could carry it out; an internet gateway maps only addresses that have a public one.",
        mistakes={OUTCOME_CHOICES[0]: "external SNAT removes the node's SNAT: the packet leaves the node from the "
                                      "pod's address, which has no public address.",
                  OUTCOME_CHOICES[1]: "the internet gateway translates 1:1 only addresses that have a public IPv4 "
                                      "address; the pod's has none.",
                  OUTCOME_CHOICES[3]: "the node lets it out (no SNAT, no drop): it is the VPC's side that cannot "
                                      "take it further."})


OUTCOME_CHOICES = ("delivered, from the node's public address", "delivered, from the pod's own address",
                   "dropped at the internet gateway", "dropped by the node's iptables rules")


def _nodeport_local_drop() -> Solution:
    from ekslib.flows.scenarios import scenario

    flow = scenario("nodeport", external_traffic_policy="Local", local_endpoint=False)
    hop = next(h for h in flow.hops if h.kind == "drop")
    return Solution(
        hop.where.chain,
        f"With externalTrafficPolicy: Local, kube-proxy sends outside clients only to the node's own endpoints; a "
        f"node without one has no nat rule for the port, and in filter {hop.where.hook} the rule '{hop.rule}' drops "
        f"the packet.",
        mistakes={"KUBE-NODEPORTS": "KUBE-NODEPORTS (nat) jumps to the Service's chains; with no local endpoint no "
                                    "nat rule translates the packet, and a filter rule drops it.",
                  "KUBE-FORWARD": "the packet is for the node's own address: it goes to INPUT, not FORWARD.",
                  "AWS-SNAT-CHAIN-0": "the VPC CNI's SNAT chain translates traffic leaving the VPC; it drops "
                                      "nothing."})


def _nodeport_cluster_source() -> Solution:
    from ekslib.flows.scenarios import scenario, scenario_setup
    from ekslib.flows.vpc import VpcFabric

    cluster, _ = scenario_setup("nodeport")
    flow = scenario("nodeport")
    ip = flow.seen_source.ip
    fabric = VpcFabric.of(cluster)
    if fabric.host_name(ip) == "client":
        answer = CLIENT_CHOICES[0]
    elif cluster.address_info(ip).role == "node address":
        answer = CLIENT_CHOICES[1]
    else:
        answer = fabric.holder(ip)[0] or str(ip)
    masquerade = next(t for t in flow.translations if t.startswith("MASQUERADE"))
    return Solution(
        answer,
        f"externalTrafficPolicy: Cluster may send the connection to a pod on another node, so kube-proxy marks it "
        f"and masquerades it ({masquerade}): the reply must come back through this node's conntrack.",
        mistakes={CLIENT_CHOICES[0]: "that is externalTrafficPolicy: Local; Cluster masquerades the client.",
                  CLIENT_CHOICES[2]: "a plain NodePort has no load balancer in front: the client connects to the "
                                     "node."})


CLIENT_CHOICES = ("the client's own address", "the node's address", "a load balancer's address")


def _nlb_dnats() -> Solution:
    from ekslib.flows.scenarios import scenario

    flow = scenario("loadbalancer")
    dnats = [h for h in flow.hops if h.rewrite.startswith("dst") and h.kind != "internet-gateway"]
    answer = len(dnats)
    return Solution(
        answer,
        "The notes' 'DNAT happens twice': " + "; then ".join(_dnat_text(h) for h in dnats)
        + ". (The internet gateway's mapping of the NLB's public address to its private one is not counted.)",
        mistakes={1: "the NLB's DNAT (to a node and its NodePort) is followed by kube-proxy's (KUBE-SEP, to a pod).",
                  3: "the internet gateway's 1:1 mapping is not counted here; the NLB and kube-proxy make two."})


def _dnat_text(hop: Any) -> str:
    if hop.kind == "netfilter":
        return f"kube-proxy's {hop.where.chain} (nat {hop.where.hook}) on the node, {hop.rewrite}"
    return f"the {hop.where.namespace}, {hop.rewrite}"


def _host_network_dnat_hook() -> Solution:
    from ekslib.flows.scenarios import scenario

    flow = scenario("pod-to-service", host_network=True)
    hop = next(h for h in flow.hops if h.rewrite.startswith("dst"))
    return Solution(
        hop.where.hook,
        f"A host-network pod sends from the node's own namespace, so its packet never meets PREROUTING: kube-proxy "
        f"jumps to KUBE-SERVICES from nat OUTPUT too, and the DNAT ({hop.rewrite}) happens there, in "
        f"{hop.where.chain}.",
        mistakes={"PREROUTING": "a pod with its own namespace is DNATed in PREROUTING; a host-network pod's packet "
                                "starts in the node and never meets it.",
                  "POSTROUTING": "POSTROUTING is where sources are rewritten (SNAT, MASQUERADE), after routing.",
                  "INPUT": "INPUT sees packets for the node itself; a ClusterIP is translated before routing."})


def _conntrack_mark() -> Solution:
    from ekslib.facts import CONNMARK
    from ekslib.flows.scenarios import scenario

    flow = scenario("pod-to-internet")
    entry = next(e for e in flow.conntrack if e.zone.startswith("node "))
    answer = entry.mark
    return Solution(
        answer,
        f"aws-node's AWS-CONNMARK-CHAIN-0 marks every connection a pod opens to a destination outside the VPC "
        f"with {CONNMARK:#x}; conntrack -L prints the mark in decimal: '{entry.text()}'.",
        mistakes={0: "aws-node's AWS-CONNMARK-CHAIN-0 marks a pod's connection to outside the VPC.",
                  int(f"{CONNMARK:x}"): f"{CONNMARK:#x} is hexadecimal; conntrack prints the mark in decimal."})


def _connmark_drop_port() -> Solution:
    from ekslib.flows.scenarios import scenario, scenario_setup

    options = {"secondary_eni": True, "connmark": False}
    cluster, _ = scenario_setup("nodeport", **options)
    flow = scenario("nodeport", **options)
    hop = next(h for h in flow.reply.hops if h.kind == "drop")
    answer = cluster.eni(hop.where.device).interface
    return Solution(
        answer,
        f"Without the mark, rule 1536 sends the pod's reply out of {answer}, the ENI holding its address, but the "
        f"reply's source is already the node's address (conntrack restores it before routing): "
        f"{flow.reply.drop_reason}. In the lab, that is the ebtables chain of {answer}'s port.",
        mistakes={"eth0": "with the mark the reply leaves by eth0 and passes; without it rule 1536 wins.",
                  "eth2": "the pod's address is on eth1, so rule 1536 picks eth1's table."})


def _connmark_which_fail() -> Solution:
    from ekslib.flows.scenarios import scenario, scenario_setup
    from ekslib.lab.experiments import connmark_cases

    _, without = connmark_cases()[1]
    cluster, _ = scenario_setup("nodeport", **without)
    failing = {cluster.eni(p.eni_id).is_primary for p in cluster.endpoints("default/api")
               if not scenario("nodeport", **without, endpoint=str(p.address)).reply_accepted}
    answer = {frozenset(): FAIL_CHOICES[0], frozenset({False}): FAIL_CHOICES[1],
              frozenset({True}): FAIL_CHOICES[2], frozenset({True, False}): FAIL_CHOICES[3]}[frozenset(failing)]
    return Solution(
        answer,
        "kube-proxy picks either endpoint (1/2 each). The reply of the pod on eth0 leaves by eth0 anyway; the reply "
        "of the pod on the secondary ENI follows rule 1536 out of eth1 with the node's address and EC2's "
        "source/destination check drops it: about half the connections fail, exactly those.",
        mistakes={FAIL_CHOICES[0]: "without the mark, rule 1536 sends the secondary-ENI pod's replies out of eth1.",
                  FAIL_CHOICES[2]: "a pod on eth0 has no rule 1536: its replies leave by eth0 with or without the "
                                   "mark.",
                  FAIL_CHOICES[3]: "only the pod on the secondary ENI has rule 1536; the other's replies leave by "
                                   "eth0."})


FAIL_CHOICES = ("none", "those kube-proxy sends to the pod on the secondary ENI",
                "those kube-proxy sends to the pod on the primary ENI", "all of them")


# -- the registry --------------------------------------------------------------------------------------------------

_NB = ("01_pod_capacity.ipynb", "02_ip_address_management.ipynb", "03_nodes_and_pods.ipynb", "04_pod_to_pod.ipynb",
       "05_pod_to_external_snat.ipynb", "06_services_and_dnat.ipynb", "07_real_kernel_lab.ipynb")
_CAPACITY = f"{CNI_SOURCE} scripts/gen_vpc_ip_limits.go and the header of misc/eni-max-pods.txt"
_IPAMD = f"{CNI_SOURCE} docs/eni-and-ip-target.md and pkg/ipamd/ipamd.go"
_DATAPLANE = f"{CNI_SOURCE} cmd/routed-eni-cni-plugin/driver/driver.go and pkg/networkutils/network.go"
_KUBE_PROXY = "github.com/kubernetes/kubernetes pkg/proxy/iptables/proxier.go"

_ALL = (
    Exercise("01-c5xlarge-pods", _NB[0],
             "A c5.xlarge can attach {enis} ENIs with {ipv4} IPv4 addresses each. With the VPC CNI's default "
             "settings (secondary-IP mode, no 110/250 ceiling), how many pods can it run?",
             "number", _c5xlarge_pods, unit="pods", source=_CAPACITY,
             hint="ENIs x (IPv4 per ENI - 1) + 2: what is the '- 1', and what is the '+ 2'?"),
    Exercise("01-c6in-multicard", _NB[0],
             "A c6in.32xlarge has {cards} network cards with {enis_total} ENIs in all, {enis} of them on the default "
             "card, and {ipv4} IPv4 addresses per ENI. How many pods can it run (secondary-IP mode, no ceiling)?",
             "number", _c6in_multicard, unit="pods", source=_CAPACITY,
             hint="On which network card does the VPC CNI attach ENIs?"),
    Exercise("01-t2xlarge-prefix", _NB[0],
             "A t2.xlarge ({enis} ENIs x {ipv4} IPv4 addresses, a Xen instance) runs VPC CNI {cni} with "
             "ENABLE_PREFIX_DELEGATION=true. How many pods does the calculator give it (no ceiling)?",
             "number", _t2xlarge_prefix, unit="pods",
             source=f"{CNI_SOURCE} pkg/awsutils/awsutils.go IsPrefixDelegationSupported; the former "
                    f"max-pods-calculator.sh of github.com/awslabs/amazon-eks-ami",
             hint="On which instances does ipamd delegate /28 prefixes?"),
    Exercise("02-m5large-one-pod", _NB[1],
             "One pod lands on a fresh m5.large ({enis} ENIs, {slots} pod slots each) with the default "
             "WARM_ENI_TARGET=1. Once ipamd's pool settles, how many addresses does the node hold in its subnet, "
             "the ENIs' primary addresses included?",
             "number", _m5large_one_pod, unit="addresses", source=_IPAMD,
             hint="After the pod, are there still a whole ENI's worth of free addresses? And every ENI has a "
                  "primary address."),
    Exercise("02-warm-ip-target", _NB[1],
             "A t3.medium's aws-node sets WARM_IP_TARGET=2. Three pods run on it. Once the pool settles, how many "
             "pod addresses (secondary IPs) are attached to its ENIs?",
             "number", _warm_ip_target, unit="addresses", source=_IPAMD,
             hint="WARM_IP_TARGET counts free addresses, and overrides WARM_ENI_TARGET."),
    Exercise("02-minimum-ip-target-alone", _NB[1],
             "An m5.large's aws-node sets MINIMUM_IP_TARGET=8 and leaves WARM_IP_TARGET unset. 12 pods are "
             "scheduled on the node. How many of them wait for an address?",
             "number", _minimum_ip_target_alone, unit="pods",
             source=f"{CNI_SOURCE} README (MINIMUM_IP_TARGET) and pkg/ipamd/ipamd.go",
             hint="What does ipamd take WARM_IP_TARGET to be when it is unset, and when is it then short of "
                  "addresses?"),
    Exercise("03-aws-node-address", _NB[2],
             "aws-node runs with hostNetwork: true. Which address does it use?",
             "choice", _aws_node_address, choices=ADDRESS_CHOICES, source=_DATAPLANE,
             hint="Does a host-network pod have a network namespace, or a veth, of its own?"),
    Exercise("03-pod-gateway", _NB[2],
             "Every pod's route table has one default route. Which gateway address does it point to?",
             "text", _pod_gateway, source=_DATAPLANE,
             hint="A link-local address that no interface holds, answered by a permanent neighbour entry."),
    Exercise("03-rule-1536-table", _NB[2],
             "On the two-node sample's first node, pod {pod} holds {address}, an address of {eni}. Which route "
             "table number does its policy rule 1536 look up?",
             "number", _rule_1536_table, source=_DATAPLANE,
             hint="The VPC CNI numbers an ENI's table from its device number (eth0 is device 0)."),
    Exercise("04-same-node-rule", _NB[3],
             "A pod sends to another pod on the same node. Which policy rule (its priority, as ip rule prints it) "
             "picks the table that delivers the packet?",
             "number", _same_node_rule, source=_DATAPLANE,
             hint="The VPC CNI adds one 'to <pod IP> lookup main' rule per pod."),
    Exercise("04-secondary-eni-exit", _NB[3],
             "A pod whose address a secondary ENI (eth1) holds sends to a pod on another node. Which interface of "
             "its node does the packet leave by?",
             "choice", _secondary_eni_exit, choices=("eth0", "eth1", "eth2"), source=_DATAPLANE,
             hint="EC2's source/destination check: an ENI may send only from an address it holds."),
    Exercise("04-cross-node-source", _NB[3],
             "A pod sends to a pod on another node of the VPC. Which source address does the receiving pod see?",
             "choice", _cross_node_seen_source, choices=SEEN_CHOICES, source=_DATAPLANE,
             hint="Are pod addresses VPC addresses? And what does AWS-SNAT-CHAIN-0 do for the VPC's CIDR?"),
    Exercise("05-private-internet-source", _NB[4],
             "A pod ({pod}) on a node ({node}) in a private subnet connects to a host on the internet. The NAT "
             "gateway's Elastic IP is {eip}. Which source address does the internet host see?",
             "text", _private_internet_source,
             source=f"{_DATAPLANE} (AWS-SNAT-CHAIN-0); Amazon VPC User Guide, 'NAT gateways'",
             hint="Count the translations: one on the node, and one where the private subnet's default route "
                  "goes."),
    Exercise("05-secondary-eni-peer-source", _NB[4],
             "A pod whose address eth1 holds connects to a host in a peered VPC (no NAT gateway on the way, no "
             "excluded CIDRs). Which source address does the peer see?",
             "choice", _secondary_eni_peer_source, choices=SNAT_CHOICES,
             source=f"{CNI_SOURCE} pkg/networkutils/network.go (AWS-SNAT-CHAIN-0); the study notes",
             hint="How many SNAT rules does aws-node write on a node, and to which address?"),
    Exercise("05-external-snat-public", _NB[4],
             "The nodes are in public subnets and aws-node sets AWS_VPC_K8S_CNI_EXTERNALSNAT=true. A pod connects "
             "to a host on the internet. What happens?",
             "choice", _external_snat_public, choices=OUTCOME_CHOICES,
             source=f"{CNI_SOURCE} README (AWS_VPC_K8S_CNI_EXTERNALSNAT); Amazon VPC User Guide, 'Internet "
                    f"gateways'",
             hint="Which address does the packet carry when it leaves the node, and which addresses does an "
                  "internet gateway translate?"),
    Exercise("06-nodeport-local-drop", _NB[5],
             "externalTrafficPolicy: Local. An outside client connects to NodePort 30080 of a node that runs no pod "
             "of the Service. Which chain holds the rule that drops the packet?",
             "choice", _nodeport_local_drop,
             choices=("KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "AWS-SNAT-CHAIN-0"),
             source=_KUBE_PROXY, hint="With no local endpoint no nat rule translates the packet; it stays addressed "
                                      "to the node. Which filter chain sees it?"),
    Exercise("06-nodeport-cluster-source", _NB[5],
             "externalTrafficPolicy: Cluster (the default). An outside client connects to a node's NodePort. Which "
             "source address does the pod that answers see?",
             "choice", _nodeport_cluster_source, choices=CLIENT_CHOICES, source=_KUBE_PROXY,
             hint="With Cluster the endpoint may be on another node: how does its reply find its way back?"),
    Exercise("06-nlb-dnats", _NB[5],
             "A client connects through an NLB with instance targets (the AWS Load Balancer Controller's default). "
             "Not counting the internet gateway's public-to-private mapping, how many times is the destination "
             "translated before the packet reaches the pod?",
             "number", _nlb_dnats, unit="DNATs",
             source=f"{_KUBE_PROXY}; AWS Load Balancer Controller docs (NLB instance targets); the study notes",
             hint="Instance targets are the nodes' NodePorts."),
    Exercise("06-host-network-dnat-hook", _NB[5],
             "A host-network pod connects to a ClusterIP. In which netfilter hook does kube-proxy's DNAT happen?",
             "choice", _host_network_dnat_hook, choices=("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
             source=_KUBE_PROXY, hint="Where does a packet that the node itself sends enter netfilter?"),
    Exercise("07-conntrack-mark", _NB[6],
             "A pod in a private subnet connects to the internet. conntrack -L on its node shows the connection's "
             "entry: which mark does it print (as a decimal number)?",
             "number", _conntrack_mark, source=f"{CNI_SOURCE} pkg/networkutils/network.go (AWS-CONNMARK-CHAIN-0); "
                                               f"conntrack-tools (conntrack -L)",
             hint="Which connection mark does aws-node use, and how much is it in decimal?"),
    Exercise("07-connmark-drop-port", _NB[6],
             "Without the VPC CNI's 0x80 connmark and rule 1024, an outside client connects to a NodePort and "
             "reaches the api pod on the t3.small's secondary ENI. The lab stands for EC2's source/destination "
             "check with an ebtables chain per ENI port: which ENI's check drops the reply?",
             "choice", _connmark_drop_port, choices=("eth0", "eth1", "eth2"),
             source=f"{CNI_SOURCE} issue #75 and PR #130; ekslib.lab.verify",
             hint="Which policy rule routes the pod's reply when no mark sends it to the main table?"),
    Exercise("07-connmark-which-fail", _NB[6],
             "Without the 0x80 connmark and rule 1024, the client opens 12 connections to the NodePort of "
             "default/api, which has one pod on a primary ENI and one on a secondary ENI. Which connections fail?",
             "choice", _connmark_which_fail, choices=FAIL_CHOICES,
             source=f"{CNI_SOURCE} issue #75 and PR #130; ekslib.lab.experiments",
             hint="Which of the two pods has a policy rule 1536?"),
)

#: Every notebook's exercises, in order, keyed by the notebook's file name.
EXERCISES: dict[str, tuple[Exercise, ...]] = {nb: tuple(e for e in _ALL if e.notebook == nb) for nb in _NB}
_BY_ID = {e.id: e for e in _ALL}


def exercise(id: str) -> Exercise:
    """The exercise with this id; an unknown id raises an EkslibError with close ids.

    >>> exercise("01-c5xlarge-pod")
    Traceback (most recent call last):
    ...
    ekslib.errors.EkslibError: unknown exercise '01-c5xlarge-pod'; did you mean 01-c5xlarge-pods, ...?...
    """
    try:
        return _BY_ID[id]
    except (KeyError, TypeError):
        close = suggest(str(id), list(_BY_ID), n=3)
        raise EkslibError(f"unknown exercise {id!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                          + f" ({len(_BY_ID)} exercises: ekslib.study.exercises.EXERCISES lists them by notebook)"
                          ) from None


def exercises_of(notebook: str) -> tuple[Exercise, ...]:
    """The exercises of ``notebook`` (its file name, with or without ``.ipynb``); an unknown one raises an
    EkslibError with close names.

    >>> [e.id for e in exercises_of("04_pod_to_pod")][:2]
    ['04-same-node-rule', '04-secondary-eni-exit']
    """
    name = notebook if str(notebook).endswith(".ipynb") else f"{notebook}.ipynb"
    if name not in EXERCISES:
        close = suggest(name, list(EXERCISES), n=3)
        raise EkslibError(f"no exercises for notebook {notebook!r}" + (f"; did you mean {', '.join(close)}?"
                                                                       if close else "")
                          + f" (notebooks: {', '.join(EXERCISES)})")
    return EXERCISES[name]
