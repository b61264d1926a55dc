"""Experiments on a running lab: the lessons of notebooks 05 and 06 played by the kernel, with the engine's
prediction beside each observation.

The connmark experiment (dataplane.md section 4, [CNI] issue #75 and PR #130): NodePort connections to a Service
whose endpoints sit on a primary and a secondary ENI. kube-proxy picks an endpoint at random for each; with the
VPC CNI's 0x80 connmark and policy rule 1024 every reply leaves by ``eth0``; without them the reply of a pod on a
secondary ENI follows rule 1536 out of ``eth1`` with the node's primary address as source, and EC2's
source/destination check drops it, so about half the connections fail.

>>> from ekslib.lab.experiments import connmark_cases
>>> [label for label, _ in connmark_cases()]
['with the 0x80 connmark and rule 1024', 'without them']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ekslib.dataplane.settings import VpcCniSettings
from ekslib.flows.scenarios import scenario, scenario_setup


def connmark_cases() -> list[tuple[str, dict[str, Any]]]:
    """The two settings of the experiment, as scenario options."""
    return [("with the 0x80 connmark and rule 1024", {"secondary_eni": True}),
            ("without them", {"secondary_eni": True, "connmark": False})]


def connmark_experiment(lab=None, connections: int = 12) -> pd.DataFrame:
    """``connections`` NodePort connections from the outside client under each setting; one row each: the
    endpoint the kernel's kube-proxy rules picked, on which ENI, whether the client got its answer, the rule
    whose counter rose if not, and what the engine predicts for that endpoint.

    Runs in ``lab`` (the NodePort scenario's lab) or in a lab of its own.
    """
    from ekslib.lab.lab import Lab

    cluster, cni = scenario_setup("nodeport", secondary_eni=True)
    if lab is None:
        with Lab(cluster, cni=cni) as own:
            return connmark_experiment(own, connections)
    rows = []
    for label, options in connmark_cases():
        settings = VpcCniSettings(connmark=options.get("connmark", True))
        lab.reconfigure(cluster, cni=settings)
        first = scenario("nodeport", **options)
        dialed, sport = first.hops[0].dst, first.hops[0].src.port
        for i in range(connections):
            obs = lab.connect("client", dialed, sport=sport + i)
            pod = next((p for p in cluster.pods if p.key == obs.receiver), None)
            eni = cluster.eni(pod.eni_id) if pod is not None else None
            predicted = scenario("nodeport", **options, endpoint=str(pod.address)) if pod is not None else None
            rows.append({
                "setting": label, "connection": i + 1, "endpoint": obs.receiver,
                "ENI": "" if eni is None else f"{eni.interface} ({'primary' if eni.is_primary else 'secondary'})",
                "answered": obs.reply_accepted,
                "dropped at": "; ".join(d.stands_for for d in obs.dropped),
                "engine predicts answered": None if predicted is None else predicted.reply_accepted,
            })
    lab.reconfigure(cluster, cni=cni)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting: connections, answered, failed, and whether every observation agreed with the engine."""
    grouped = table.groupby("setting", sort=False)
    return pd.DataFrame({
        "connections": grouped.size(),
        "answered": grouped["answered"].sum(),
        "failed": grouped.size() - grouped["answered"].sum(),
        "engine agrees": grouped.apply(lambda g: bool((g["answered"] == g["engine predicts answered"]).all()),
                                       include_groups=False),
    }).reset_index()
