"""Regenerate the sample cluster dumps in this folder (deterministic: the same files every run).

    .venv/bin/python data/samples/make_samples.py

Each sample is a synthetic cluster from ``ekslib.cluster.build_cluster`` written by
``ekslib.cluster.to_kubectl`` as the documents a real cluster gives:

* ``nodes.json``, ``pods.json``, ``services.json``, ``endpointslices.json``: ``kubectl get nodes -o json``,
  ``kubectl get pods -A -o json``, ``kubectl get svc -A -o json``, ``kubectl get endpointslices -A -o json``
  (Kubernetes API ``List`` objects; ``default/kubernetes``'s slice lists EKS's control-plane ENIs);
* ``enis.json``, ``subnets.json``, ``vpcs.json``: the EC2 answers of ``DescribeNetworkInterfaces`` (the nodes'
  ENIs and the two ``Amazon EKS <cluster>`` control-plane ENIs), ``DescribeSubnets`` and ``DescribeVpcs``.

The data are made by this project (account 111122223333 is AWS's documentation example), not taken from a
real account. ``ekslib.cluster.load_sample(name)`` reads them back.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # run from a checkout without installing

from ekslib.cluster.build import build_cluster
from ekslib.cluster.kubectl import to_kubectl
from ekslib.cluster.spec import NodeGroup, ServiceSpec, Workload
from ekslib.sources.kube import write_dump

#: The study notes' picture: two t3.medium workers, each with a primary and secondary ENI, coredns behind a veth,
#: aws-node and kube-proxy on the node's address; apps behind a ClusterIP, a NodePort and a LoadBalancer
#: (externalTrafficPolicy Local). One node runs enough pods that some take addresses of its second ENI.
APPS = (
    Workload("web", 3, service=ServiceSpec("LoadBalancer", 80, 8080, external_traffic_policy="Local")),
    Workload("api", 2, service=ServiceSpec("NodePort", 8080, 8080, node_port=30080)),
    Workload("backend", 4, service=ServiceSpec("ClusterIP", 80, 8080)),
)

SAMPLES = {
    "two-node": dict(node_groups=[NodeGroup("t3.medium", 2, name="workers")], workloads=APPS, seed=4),
    "three-node": dict(node_groups=[NodeGroup("t3.medium", 2, name="workers"),
                                    NodeGroup("m5.large", 1, az="us-west-2c", name="large")],
                       workloads=APPS + (Workload("batch", 6),), seed=11),
}


def main() -> None:
    for name, kwargs in SAMPLES.items():
        cluster = build_cluster(name=name, **kwargs)
        for path in write_dump(to_kubectl(cluster), HERE / name):
            print(path.relative_to(HERE.parent.parent))


if __name__ == "__main__":
    main()
