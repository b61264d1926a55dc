"""Every AWS, VPC CNI, Kubernetes and Linux constant ekslib uses, in one place, each with its public source.

Sources: ``[CNI]`` = github.com/aws/amazon-vpc-cni-k8s, ``[AMI]`` = github.com/awslabs/amazon-eks-ami,
``[K8S]`` = github.com/kubernetes/kubernetes and kubernetes.io, ``[VPC]`` = the Amazon VPC User Guide,
``[EC2]`` = the Amazon EC2 User Guide and API reference, ``[UG]`` = the Amazon EKS User Guide.
Model choices (defaults of a simulator, colours, sizes) stay in their modules: only facts live here.

>>> IPS_PER_PREFIX, RESERVED_PER_SUBNET, str(POD_GATEWAY)
(16, 5, '169.254.1.1')
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

# ------------------------------------------------------------------------------------------- pod capacity

#: The CNI version assumed when none is given (a current VPC CNI release).
DEFAULT_CNI_VERSION = "1.23.1"
#: Addresses in one delegated IPv4 prefix, an aligned /28 ([EC2] "Assign prefixes to network interfaces").
IPS_PER_PREFIX = 16
PREFIX_LENGTH = 28
#: aws-node and kube-proxy: host-network pods counted by kubelet but given no VPC address, the ``+ 2`` of
#: ``ENIs x (IPv4 per ENI - 1) + 2`` ([CNI] ``scripts/gen_vpc_ip_limits.go``, header of ``misc/eni-max-pods.txt``).
HOST_NETWORK_PODS = 2
#: First VPC CNI version with prefix delegation (the former [AMI] ``max-pods-calculator.sh``: major > 1 or
#: minor > 8).
PREFIX_DELEGATION_MIN_CNI = (1, 9, 0)
#: First VPC CNI version that delegates prefixes on bare metal too ([CNI] ``pkg/awsutils/awsutils.go``
#: ``IsPrefixDelegationSupported``: Nitro or bare metal, since v1.11.0, PR #1937).
PREFIX_DELEGATION_BARE_METAL_MIN_CNI = (1, 11, 0)
#: The recommended max-pods ceilings and the vCPU count above which the higher one applies (the former
#: max-pods-calculator.sh; [UG] "How maxPods is determined": managed node groups without a custom AMI).
CEILING_LOW_CPU = 110
CEILING_HIGH_CPU = 250
CEILING_CPU_THRESHOLD = 30

# ------------------------------------------------------------------------------------------- subnets

#: Addresses AWS reserves at the start (network, router .1, DNS .2, future use .3) and at the end
#: (broadcast) of every subnet ([VPC] "Subnet CIDR blocks").
RESERVED_AT_START = 4
RESERVED_AT_END = 1
RESERVED_PER_SUBNET = RESERVED_AT_START + RESERVED_AT_END
#: The subnet sizes a VPC allows ([VPC] same page): /16 (65,536 addresses) to /28 (16).
LARGEST_SUBNET, SMALLEST_SUBNET = 16, 28
#: The EC2 error codes of an exhausted or fragmented subnet (EC2 API error codes; [CNI] ``pkg/ipamd/ipamd.go``).
INSUFFICIENT_FREE_ADDRESSES = "InsufficientFreeAddressesInSubnet"
INSUFFICIENT_CIDR_BLOCKS = "InsufficientCidrBlocks"
#: The other answer EC2 gives a short subnet ("There aren't sufficient free Ipv4 addresses or prefixes",
#: [CNI] issue #3105); ipamd does not back off 120 s for it.
INVALID_PARAMETER_VALUE = "InvalidParameterValue"

# ------------------------------------------------------------------------------------------- ipamd

#: ipamd checks its pool every 5 s ([CNI] ``pkg/ipamd/ipamd.go`` ``ipPoolMonitorInterval``).
POOL_LOOP_S = 5
#: ipamd shrinks the pool at most once per 30 s (``decreaseIPPoolInterval``).
DECREASE_INTERVAL_S = 30
#: A released pod address waits 30 s before another pod gets it (``datastore/data_store.go``
#: ``IP_COOLDOWN_PERIOD``).
IP_COOLDOWN_S = 30
#: Creating and attaching an ENI "can take up to 10 seconds" ([CNI] ``docs/eni-and-ip-target.md``).
ENI_ATTACH_DELAY_S = 10
#: An ENI younger than 60 s is never freed (``data_store.go`` ``minENILifeTime``).
MIN_ENI_AGE_S = 60
#: After InsufficientCidrBlocks / InsufficientFreeAddressesInSubnet ipamd waits 120 s
#: (``ipamd.go`` ``insufficientCidrErrorCooldown``).
INSUFFICIENT_ADDRESSES_BACKOFF_S = 120
#: EC2 API calls, as ipamd makes them ([CNI] ``pkg/awsutils/awsutils.go``): a new ENI is created with its
#: addresses, attached and marked delete-on-termination; a freed ENI is detached and deleted.
ASSIGN_CALL = "AssignPrivateIpAddresses"
UNASSIGN_CALL = "UnassignPrivateIpAddresses"
ATTACH_ENI_CALLS = ("CreateNetworkInterface", "AttachNetworkInterface", "ModifyNetworkInterfaceAttribute")
FREE_ENI_CALLS = ("DetachNetworkInterface", "DeleteNetworkInterface")

# ------------------------------------------------------------------------------------------- Kubernetes

#: Kubernetes' default NodePort range (kube-apiserver ``--service-node-port-range``; fixed on EKS).
NODE_PORT_RANGE = (30000, 32767)
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
#: EKS's two default service CIDRs: 172.20.0.0/16 when the VPC is in 10.0.0.0/8, else 10.100.0.0/16
#: (AL2's [AMI] ``bootstrap.sh`` picks the DNS address the same way; [UG] ``serviceIpv4Cidr``).
EKS_SERVICE_CIDR = IPv4Network("10.100.0.0/16")
EKS_SERVICE_CIDR_IN_10_VPC = IPv4Network("172.20.0.0/16")
#: Node labels holding the instance type and the zone, newest first ([K8S] well-known labels), and the
#: node group (EKS managed node groups, eksctl).
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
NODEGROUP_LABELS = ("eks.amazonaws.com/nodegroup", "alpha.eksctl.io/nodegroup-name")

# ------------------------------------------------------------------------------------------- the node

#: ``AWS_VPC_K8S_CNI_VETHPREFIX`` default ([CNI] ``pkg/networkutils/network.go``).
DEFAULT_VETH_PREFIX = "eni"
#: Prefixes the VPC CNI reserves for itself ([CNI] README, ``AWS_VPC_K8S_CNI_VETHPREFIX``).
RESERVED_VETH_PREFIXES = ("eth", "vlan", "lo")
#: Hex characters of SHA-1 in a host veth name: 4-character prefix + 11 = 15, Linux's IFNAMSIZ - 1
#: ([CNI] ``pkg/networkutils/names.go`` ``GeneratePodHostVethName``).
VETH_HASH_CHARS = 11
MAX_VETH_PREFIX = 4
#: The pod's gateway: a link-local address no interface has ([CNI] ``cmd/routed-eni-cni-plugin/driver/driver.go``);
#: a static ARP entry answers for it.
POD_GATEWAY = IPv4Address("169.254.1.1")
#: ``AWS_VPC_ENI_MTU`` default ([CNI] ``pkg/networkutils/network.go`` ``defaultMTU``).
DEFAULT_MTU = 9001
#: The VPC CNI's connection mark for traffic that must leave by the primary ENI (``AWS_VPC_K8S_CNI_CONNMARK``).
CONNMARK = 0x80
#: Rule priorities: the kernel's own (0, 32766, 32767) and the VPC CNI's ([CNI] ``network.go``, ``driver.go``).
RULE_LOCAL, RULE_TO_POD, RULE_FWMARK, RULE_FROM_POD, RULE_FROM_ENI, RULE_MAIN, RULE_DEFAULT = (
    0, 512, 1024, 1536, 32765, 32766, 32767)
#: The loopback device's MTU (Linux ``drivers/net/loopback.c``).
LOOPBACK_MTU = 65536
#: The cluster CIDR kubenet examples use (kubeadm/flannel's 10.244.0.0/16), cut into /24 pod CIDRs per node
#: (kube-controller-manager ``--node-cidr-mask-size`` default 24), and kubenet's bridge ([K8S] kubenet).
KUBENET_CLUSTER_CIDR = IPv4Network("10.244.0.0/16")
BRIDGE = "cbr0"

# ------------------------------------------------------------------------------------------- EndpointSlices

#: The protocols a Service or EndpointSlice port may have ([K8S] ``core/v1`` ``Protocol``; discovery.k8s.io/v1
#: ``EndpointPort.protocol``: "Must be UDP, TCP, or SCTP. Default is TCP").
PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")
#: The label that ties an EndpointSlice to its Service, and the one naming who manages it ([K8S]
#: ``discovery.k8s.io/v1`` ``LabelServiceName``, ``LabelManagedBy``; kubernetes.io "EndpointSlices").
SLICE_SERVICE_LABEL = "kubernetes.io/service-name"
SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
#: The EndpointSlice controller's value of that label ([K8S] kube-controller-manager's EndpointSlice controller,
#: ``staging/src/k8s.io/endpointslice`` ``setEndpointSliceLabels``).
ENDPOINTSLICE_CONTROLLER = "endpointslice-controller.k8s.io"
#: Endpoints the controller puts in one slice (kube-controller-manager ``--max-endpoints-per-slice``, default
#: 100, at most 1000; kubernetes.io "EndpointSlices").
MAX_ENDPOINTS_PER_SLICE = 100
#: A generated name (``metadata.generateName``): the base cut to 58 characters, then 5 random ones
#: (k8s.io/apiserver ``pkg/storage/names`` ``GenerateName``: 63 - 5).
GENERATED_NAME_BASE_MAX, GENERATED_NAME_RANDOM = 58, 5

# ------------------------------------------------------------------------------------------- EKS control plane

#: EKS creates 2 to 4 network interfaces in the subnets given to the cluster, each described as
#: ``Amazon EKS <cluster-name>``; they carry the API server's traffic to and from the VPC ([UG] "View Amazon
#: EKS networking requirements for VPC and subnets"). They are attached to instances of an AWS-owned account
#: (``Attachment.InstanceOwnerId``), requested by the ``AmazonEKS`` role (``RequesterId`` ``...:AmazonEKS``),
#: ``InterfaceType`` ``interface`` (github.com/liwenwu-amazon/reinvent2018-NET410, a
#: ``describe-network-interfaces`` of one).
EKS_CONTROL_PLANE_ENIS = (2, 4)
EKS_ENI_DESCRIPTION_PREFIX = "Amazon EKS "

# ------------------------------------------------------------------------------------------- kube-proxy

#: kube-proxy's masquerade bit (KubeProxyConfiguration ``iptables.masqueradeBit``, ``--iptables-masquerade-bit``;
#: default 14, [K8S] ``pkg/proxy/apis/config/v1alpha1/defaults.go``): KUBE-MARK-MASQ sets mark ``1 << 14`` = 0x4000.
KUBE_PROXY_MASQUERADE_BIT = 14
#: Above this many endpoints (all ports of all Services) kube-proxy's iptables mode drops its per-endpoint comments
#: ([K8S] ``pkg/proxy/iptables/proxier.go`` ``largeClusterEndpointsThreshold``).
KUBE_PROXY_LARGE_CLUSTER_ENDPOINTS = 1000
#: ``sessionAffinity: ClientIP``'s default timeout, 3 hours ([K8S] core/v1 ``DefaultClientIPServiceAffinitySeconds``;
#: ``sessionAffinityConfig.clientIP.timeoutSeconds`` allows 1..86400).
SESSION_AFFINITY_TIMEOUT_S = 10800
