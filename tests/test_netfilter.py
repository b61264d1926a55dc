"""Netfilter as data (ekslib.linux.netfilter) and its iptables-save text (ekslib.linux.iptables_save).

The expected texts below are what ``iptables-save`` (iptables v1.8.9, nf_tables backend, Debian 12) printed after
``iptables-restore`` of the written text, in a throw-away network namespace; the tests marked ``root`` redo that
against the iptables of the machine running them.
"""

# ruff: noqa: E501 -- WRITTEN and SAVED hold iptables-save lines verbatim; they cannot be wrapped

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ekslib.errors import EkslibError
from ekslib.linux.iptables_save import ParseError, parse_iptables_save, parse_rule, quote, render, tokenize
from ekslib.linux.netfilter import (
    MASK32,
    AddressMatch,
    AddrtypeOptions,
    Chain,
    CommentOptions,
    ConnmarkOptions,
    ConntrackOptions,
    DnatOptions,
    InterfaceMatch,
    MarkOptions,
    MarkTargetOptions,
    MasqueradeOptions,
    Match,
    MultiportOptions,
    NatRange,
    NetfilterError,
    PortMatch,
    PortOptions,
    PortRange,
    ProtocolMatch,
    RecentOptions,
    RejectOptions,
    Rule,
    Ruleset,
    SnatOptions,
    StatisticOptions,
    Table,
    Target,
)

# kube-proxy (iptables mode) and the AWS VPC CNI on one node, written the way a person might write it: some rules
# in iptables-save's own spelling, some not (-d without /32, --dport without -m tcp, --or-mark, probability 0.5,
# unquoted comments with ':' and '/', REJECT without --reject-with, chains declared out of order).
WRITTEN = r"""
# a ClusterIP with 3 endpoints, a NodePort, session affinity, the VPC CNI's SNAT and CONNMARK chains
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80
-A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:AWS-CONNMARK-CHAIN-0 - [0:0]
:AWS-SNAT-CHAIN-0 - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SEP-DNS1 - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-EXT-WEB - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-C - [0:0]
:KUBE-SVC-STICKY - [0:0]
:KUBE-SEP-S1 - [0:0]
:KUBE-SEP-S2 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0
-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0
-A AWS-CONNMARK-CHAIN-0 -d 192.168.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN
-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80
-A AWS-SNAT-CHAIN-0 -d 192.168.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN
-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 192.168.1.10 --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -d 10.100.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SERVICES -d 10.100.20.30 -p tcp -m comment --comment "default/web:http cluster IP" --dport 80 -j KUBE-SVC-WEB
-A KUBE-SERVICES -d 10.100.40.50/32 -p tcp -m comment --comment "default/sticky cluster IP" -m tcp --dport 443 -j KUBE-SVC-STICKY
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-EXT-WEB
-A KUBE-EXT-WEB -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-WEB -j KUBE-SVC-WEB
-A KUBE-SVC-TCOU7JCQXEZGVUNU ! -s 192.168.0.0/16 -d 10.100.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 192.168.1.20:53" -j KUBE-SEP-DNS1
-A KUBE-SEP-DNS1 -s 192.168.1.20/32 -m comment --comment kube-system/kube-dns:dns -j KUBE-MARK-MASQ
-A KUBE-SEP-DNS1 -p udp -m comment --comment kube-system/kube-dns:dns -m udp -j DNAT --to-destination 192.168.1.20:53
-A KUBE-SVC-WEB ! -s 192.168.0.0/16 -d 10.100.20.30/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 192.168.1.5:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 192.168.2.6:8080" -m statistic --mode random --probability 0.5 -j KUBE-SEP-B
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 192.168.3.7:8080" -j KUBE-SEP-C
-A KUBE-SEP-A -s 192.168.1.5/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 192.168.1.5:8080
-A KUBE-SEP-B -s 192.168.2.6/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-B -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 192.168.2.6:8080
-A KUBE-SEP-C -s 192.168.3.7/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-C -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 192.168.3.7:8080
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.1.8:8443" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-S1 --mask 255.255.255.255 --rsource -j KUBE-SEP-S1
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.2.9:8443" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-S2 --mask 255.255.255.255 --rsource -j KUBE-SEP-S2
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.1.8:8443" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-S1
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.2.9:8443" -j KUBE-SEP-S2
-A KUBE-SEP-S1 -s 192.168.1.8/32 -m comment --comment "default/sticky" -j KUBE-MARK-MASQ
-A KUBE-SEP-S1 -p tcp -m comment --comment "default/sticky" -m recent --set --name KUBE-SEP-S1 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 192.168.1.8:8443
-A KUBE-SEP-S2 -s 192.168.2.9/32 -m comment --comment "default/sticky" -j KUBE-MARK-MASQ
-A KUBE-SEP-S2 -p tcp -m comment --comment "default/sticky" -m recent --set --name KUBE-SEP-S2 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 192.168.2.9:8443
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A KUBE-SERVICES -d 10.100.5.5/32 -p tcp -m comment --comment "default/noep has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/noep:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30081 -j REJECT
COMMIT
"""

# What iptables-save printed for WRITTEN (comment lines dropped): tables in nft order (mangle, filter, nat), user
# chains sorted by name, rules grouped by chain, and the normalisations of each rule.
SAVED = """\
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80
-A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/noep:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30081 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-SERVICES -d 10.100.5.5/32 -p tcp -m comment --comment "default/noep has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:AWS-CONNMARK-CHAIN-0 - [0:0]
:AWS-SNAT-CHAIN-0 - [0:0]
:KUBE-EXT-WEB - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-C - [0:0]
:KUBE-SEP-DNS1 - [0:0]
:KUBE-SEP-S1 - [0:0]
:KUBE-SEP-S2 - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-STICKY - [0:0]
:KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
:KUBE-SVC-WEB - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0
-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0
-A AWS-CONNMARK-CHAIN-0 -d 192.168.0.0/16 -m comment --comment "AWS CONNMARK CHAIN, VPC CIDR" -j RETURN
-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80
-A AWS-SNAT-CHAIN-0 -d 192.168.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN
-A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 192.168.1.10 --random-fully
-A KUBE-EXT-WEB -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-WEB -j KUBE-SVC-WEB
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-EXT-WEB
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SEP-A -s 192.168.1.5/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-A -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 192.168.1.5:8080
-A KUBE-SEP-B -s 192.168.2.6/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-B -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 192.168.2.6:8080
-A KUBE-SEP-C -s 192.168.3.7/32 -m comment --comment "default/web:http" -j KUBE-MARK-MASQ
-A KUBE-SEP-C -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 192.168.3.7:8080
-A KUBE-SEP-DNS1 -s 192.168.1.20/32 -m comment --comment "kube-system/kube-dns:dns" -j KUBE-MARK-MASQ
-A KUBE-SEP-DNS1 -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination 192.168.1.20:53
-A KUBE-SEP-S1 -s 192.168.1.8/32 -m comment --comment "default/sticky" -j KUBE-MARK-MASQ
-A KUBE-SEP-S1 -p tcp -m comment --comment "default/sticky" -m recent --set --name KUBE-SEP-S1 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 192.168.1.8:8443
-A KUBE-SEP-S2 -s 192.168.2.9/32 -m comment --comment "default/sticky" -j KUBE-MARK-MASQ
-A KUBE-SEP-S2 -p tcp -m comment --comment "default/sticky" -m recent --set --name KUBE-SEP-S2 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 192.168.2.9:8443
-A KUBE-SERVICES -d 10.100.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
-A KUBE-SERVICES -d 10.100.20.30/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SERVICES -d 10.100.40.50/32 -p tcp -m comment --comment "default/sticky cluster IP" -m tcp --dport 443 -j KUBE-SVC-STICKY
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.1.8:8443" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-S1 --mask 255.255.255.255 --rsource -j KUBE-SEP-S1
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.2.9:8443" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-S2 --mask 255.255.255.255 --rsource -j KUBE-SEP-S2
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.1.8:8443" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-S1
-A KUBE-SVC-STICKY -m comment --comment "default/sticky -> 192.168.2.9:8443" -j KUBE-SEP-S2
-A KUBE-SVC-TCOU7JCQXEZGVUNU ! -s 192.168.0.0/16 -d 10.100.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-MARK-MASQ
-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 192.168.1.20:53" -j KUBE-SEP-DNS1
-A KUBE-SVC-WEB ! -s 192.168.0.0/16 -d 10.100.20.30/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 192.168.1.5:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 192.168.2.6:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-B
-A KUBE-SVC-WEB -m comment --comment "default/web:http -> 192.168.3.7:8080" -j KUBE-SEP-C
COMMIT
"""

# (table, written rule, what iptables-save printed), each observed on iptables v1.8.9 (nf_tables), Debian 12.
# The rules live in user chain X (Y exists for jumps); test_real_iptables_normalisations replays them.
NORMALISATIONS = [
    # implicit protocol match, port order and ranges (load_proto in xshared.c; tcp_save in libxt_tcp.c)
    ("filter", "-A X -p tcp --dport 80 -j ACCEPT", "-A X -p tcp -m tcp --dport 80 -j ACCEPT"),
    ("filter", "-A X -p tcp --dport 80 --sport 1024:65535 -j ACCEPT",
     "-A X -p tcp -m tcp --sport 1024:65535 --dport 80 -j ACCEPT"),
    ("filter", "-A X -p udp --sport 0:65535 -j ACCEPT", "-A X -p udp -m udp -j ACCEPT"),
    ("filter", "-A X -p sctp --dport 0:65535 -j ACCEPT", "-A X -p sctp -m sctp --dport 0:65535 -j ACCEPT"),
    ("filter", "-A X -p tcp --dport :90 -j ACCEPT", "-A X -p tcp -m tcp --dport 0:90 -j ACCEPT"),
    ("filter", "-A X -p tcp --dport 80: -j ACCEPT", "-A X -p tcp -m tcp --dport 80:65535 -j ACCEPT"),
    ("filter", "-A X -p tcp ! --dport 80 ! --sport 1 -j ACCEPT",
     "-A X -p tcp -m tcp ! --sport 1 ! --dport 80 -j ACCEPT"),
    # iptables-nft stores "! 0:N" as "> N" and reads it back as N+1:65535 (expr_gen_range_cmp16 in nft.c)
    ("filter", "-A X -p tcp ! --dport 0:1023 -j ACCEPT", "-A X -p tcp -m tcp --dport 1024:65535 -j ACCEPT"),
    ("filter", "-A X -p udp ! --sport 0:65534 -j ACCEPT", "-A X -p udp -m udp --sport 65535 -j ACCEPT"),
    ("filter", "-A X -p tcp ! --dport 0 -j ACCEPT", "-A X -p tcp -m tcp ! --dport 0 -j ACCEPT"),
    ("filter", "-A X -p tcp ! --dport 1:65535 -j ACCEPT", "-A X -p tcp -m tcp ! --dport 1:65535 -j ACCEPT"),
    ("filter", "-A X -p sctp ! --sport 0:1 -j ACCEPT", "-A X -p sctp -m sctp ! --sport 0:1 -j ACCEPT"),
    ("filter", "-A X -p tcp -m comment --comment x --dport 80 -j ACCEPT",
     "-A X -p tcp -m comment --comment x -m tcp --dport 80 -j ACCEPT"),
    ("filter", "-A X -p tcp -m tcp -m comment --dport 80 --comment x -j ACCEPT",
     "-A X -p tcp -m tcp --dport 80 -m comment --comment x -j ACCEPT"),
    ("filter", "-A X -j ACCEPT -m comment --comment late", "-A X -m comment --comment late -j ACCEPT"),
    # getopt_long takes a unique prefix of a long option, among iptables' and the loaded extensions' options
    ("filter", "-A X --dest 10.0.0.1 --sou 10.0.0.2 --prot tcp --dp 80 -j ACCEPT",
     "-A X -s 10.0.0.2/32 -d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT"),
    ("filter", "-A X -m addrtype --dst-t LOCAL --limit-iface-i", "-A X -m addrtype --dst-type LOCAL --limit-iface-in"),
    ("filter", "-A X -m comment --comm hello", "-A X -m comment --comment hello"),
    ("filter", "-A X -p tcp --destination-port 80 -m multiport --dports 1,2 -j ACCEPT",
     "-A X -p tcp -m tcp --dport 80 -m multiport --dports 1,2 -j ACCEPT"),
    ("nat", "-A X -j DNAT --to 192.168.1.5", "-A X -j DNAT --to-destination 192.168.1.5"),
    ("nat", "-A X -j SNAT --to-s 1.2.3.4 --random-f", "-A X -j SNAT --to-source 1.2.3.4 --random-fully"),
    # protocols, addresses, interfaces (nft_ipv4_save_rule, save_ipv4_addr, save_iface, proto_to_name)
    ("filter", "-A X -p 6 -j ACCEPT", "-A X -p tcp -j ACCEPT"),
    ("filter", "-A X -p TCP -j ACCEPT", "-A X -p tcp -j ACCEPT"),
    ("filter", "-A X -p 58 -j ACCEPT", "-A X -p ipv6-icmp -j ACCEPT"),
    ("filter", "-A X -p gre -j ACCEPT", "-A X -p gre -j ACCEPT"),
    ("filter", "-A X -p all -j ACCEPT", "-A X -j ACCEPT"),
    ("filter", "-A X ! -p tcp -j ACCEPT", "-A X ! -p tcp -j ACCEPT"),
    ("filter", "-A X -s 10.0.0.1 -j ACCEPT", "-A X -s 10.0.0.1/32 -j ACCEPT"),
    ("filter", "-A X -s 10.0.0.0/255.255.0.0 -j ACCEPT", "-A X -s 10.0.0.0/16 -j ACCEPT"),
    ("filter", "-A X -s 10.1.2.3/16 -j ACCEPT", "-A X -s 10.1.0.0/16 -j ACCEPT"),
    ("filter", "-A X -s 0.0.0.0/0 -j ACCEPT", "-A X -j ACCEPT"),
    ("filter", "-A X -d 10.0.0.2 -s 10.0.0.1 -o eth1 -i eth0 -j ACCEPT",
     "-A X -s 10.0.0.1/32 -d 10.0.0.2/32 -i eth0 -o eth1 -j ACCEPT"),
    ("filter", "-A X --source 10.0.0.1 --destination 10.0.0.2 --in-interface eth0 --protocol tcp --jump ACCEPT",
     "-A X -s 10.0.0.1/32 -d 10.0.0.2/32 -i eth0 -p tcp -j ACCEPT"),
    ("filter", "-A X -i + -j ACCEPT", "-A X -j ACCEPT"),
    ("filter", "-A X ! -i + -j ACCEPT", "-A X ! -i + -j ACCEPT"),
    ("filter", "-A X ! -i eth0 ! -o eni+ -j ACCEPT", "-A X ! -i eth0 ! -o eni+ -j ACCEPT"),
    ("filter", "-A X -g Y", "-A X -g Y"),
    ("filter", "-A X", "-A X"),
    # comments (xtables_save_string)
    ("filter", '-A X -m comment --comment "a b"', '-A X -m comment --comment "a b"'),
    ("filter", '-A X -m comment --comment "abc_DEF-09"', "-A X -m comment --comment abc_DEF-09"),
    ("filter", "-A X -m comment --comment a.b", '-A X -m comment --comment "a.b"'),
    ("filter", '-A X -m comment --comment "it\'s"', '-A X -m comment --comment "it\\\'s"'),
    ("filter", "-A X -m comment --comment 'single'", '-A X -m comment --comment "\\\'single\\\'"'),
    ("filter", '-A X -m comment --comment "say \\"hi\\""', '-A X -m comment --comment "say \\"hi\\""'),
    ("filter", '-A X -m comment --comment "back\\\\slash"', '-A X -m comment --comment "back\\\\slash"'),
    ("filter", '-A X -m comment --comment ""', '-A X -m comment --comment ""'),
    ("filter", '-A X -m comment --comment "tab\tx"', '-A X -m comment --comment "tab\tx"'),
    ("filter", "-A X -m comment --comment !", '-A X -m comment --comment "!"'),
    ("filter", '-A X -m comment --comment "-j"', "-A X -m comment --comment -j"),
    ("filter", '-A X -m comment --comment "é ü"', '-A X -m comment --comment "é ü"'),
    ("filter", '-A X -m comment --comment "x" -m comment --comment "y"',
     "-A X -m comment --comment x -m comment --comment y"),
    # statistic (print_match: %.11f of the kernel's 2**-31 steps; "!" after --mode; --packet always)
    ("filter", "-A X -m statistic --mode random --probability 0.5 -j Y",
     "-A X -m statistic --mode random --probability 0.50000000000 -j Y"),
    ("filter", "-A X -m statistic --mode random --probability 0.333333333 -j Y",
     "-A X -m statistic --mode random --probability 0.33333333302 -j Y"),
    ("filter", "-A X -m statistic --mode random --probability 0.2 -j Y",
     "-A X -m statistic --mode random --probability 0.20000000019 -j Y"),
    ("filter", "-A X -m statistic --mode random --probability 1 -j Y",
     "-A X -m statistic --mode random --probability 1.00000000000 -j Y"),
    ("filter", "-A X -m statistic --mode random --probability 0.000244140625 -j Y",
     "-A X -m statistic --mode random --probability 0.00024414062 -j Y"),
    ("filter", "-A X -m statistic --probability 0.25 --mode random -j Y",
     "-A X -m statistic --mode random --probability 0.25000000000 -j Y"),
    ("filter", "-A X -m statistic --mode random ! --probability 0.25 -j Y",
     "-A X -m statistic --mode random ! --probability 0.25000000000 -j Y"),
    ("filter", "-A X -m statistic --mode nth --every 3 --packet 0 -j Y",
     "-A X -m statistic --mode nth --every 3 --packet 0 -j Y"),
    ("filter", "-A X -m statistic --mode nth ! --every 3 --packet 1 -j Y",
     "-A X -m statistic --mode nth ! --every 3 --packet 1 -j Y"),
    # marks (xtables_print_val_mask: hex, /mask unless 0xffffffff; numbers read as C strtoul base 0)
    ("filter", "-A X -m mark --mark 16384/0xffffffff -j Y", "-A X -m mark --mark 0x4000 -j Y"),
    ("filter", "-A X -m mark ! --mark 0x4000/0x4000 -j Y", "-A X -m mark ! --mark 0x4000/0x4000 -j Y"),
    ("filter", "-A X -m mark --mark 010 -j Y", "-A X -m mark --mark 0x8 -j Y"),
    ("filter", "-A X -m mark --mark 0X1F -j Y", "-A X -m mark --mark 0x1f -j Y"),
    ("filter", "-A X -m connmark ! --mark 1 -j Y", "-A X -m connmark ! --mark 0x1 -j Y"),
    ("filter", "-A X -m mark --mark 1 -m connmark --mark 2 -j Y",
     "-A X -m mark --mark 0x1 -m connmark --mark 0x2 -j Y"),
    # conntrack / state (print_state order; names are case-insensitive prefixes)
    ("filter", "-A X -m conntrack --ctstate ESTABLISHED,RELATED -j Y",
     "-A X -m conntrack --ctstate RELATED,ESTABLISHED -j Y"),
    ("filter", "-A X -m conntrack --ctstate new,invalid -j Y", "-A X -m conntrack --ctstate INVALID,NEW -j Y"),
    ("filter", "-A X -m conntrack --ctstate DNAT,SNAT,UNTRACKED,ESTABLISHED,RELATED,NEW,INVALID -j Y",
     "-A X -m conntrack --ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT -j Y"),
    ("filter", "-A X -m conntrack --ctstate EST -j Y", "-A X -m conntrack --ctstate ESTABLISHED -j Y"),
    ("filter", "-A X -m conntrack --ctstate INVALID,INVALID -j Y", "-A X -m conntrack --ctstate INVALID -j Y"),
    ("filter", "-A X -m conntrack ! --ctstate NEW -j Y", "-A X -m conntrack ! --ctstate NEW -j Y"),
    ("filter", "-A X -m state --state ESTABLISHED,RELATED -j Y", "-A X -m state --state RELATED,ESTABLISHED -j Y"),
    ("filter", "-A X -m state ! --state NEW -j Y", "-A X -m state ! --state NEW -j Y"),
    # addrtype (addrtype_save_v1: src, dst, limit-iface; types in bit order)
    ("filter", "-A X -m addrtype --limit-iface-in --dst-type local -j Y",
     "-A X -m addrtype --dst-type LOCAL --limit-iface-in -j Y"),
    ("filter", "-A X -m addrtype --dst-type BROADCAST,LOCAL --src-type LOCAL -j Y",
     "-A X -m addrtype --src-type LOCAL --dst-type LOCAL,BROADCAST -j Y"),
    ("filter", "-A X -m addrtype ! --src-type LOCAL ! --dst-type UNICAST,LOCAL -j Y",
     "-A X -m addrtype ! --src-type LOCAL ! --dst-type UNICAST,LOCAL -j Y"),
    ("filter", "-A X -m addrtype --src-type LOCAL --limit-iface-out -j Y",
     "-A X -m addrtype --src-type LOCAL --limit-iface-out -j Y"),
    # recent (recent_save: name, mask and side always printed)
    ("filter", "-A X -m recent --set -j Y",
     "-A X -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource -j Y"),
    ("filter", "-A X -m recent --rsource --name A --set -j Y",
     "-A X -m recent --set --name A --mask 255.255.255.255 --rsource -j Y"),
    ("filter", "-A X -m recent --reap --rcheck --seconds 60 -j Y",
     "-A X -m recent --rcheck --seconds 60 --reap --name DEFAULT --mask 255.255.255.255 --rsource -j Y"),
    ("filter", "-A X -m recent ! --rcheck --seconds 60 --hitcount 3 --rttl --rdest --mask 255.255.0.0 --name a.b -j Y",
     "-A X -m recent ! --rcheck --seconds 60 --hitcount 3 --rttl --name a.b --mask 255.255.0.0 --rdest -j Y"),
    ("filter", "-A X -m recent --rcheck --hitcount 0",
     "-A X -m recent --rcheck --name DEFAULT --mask 255.255.255.255 --rsource"),
    ("filter", "-A X -m recent --rcheck --rdest --rsource",
     "-A X -m recent --rcheck --name DEFAULT --mask 255.255.255.255 --rsource"),
    ("filter", "-A X -m recent --update --seconds 60 -j Y",
     "-A X -m recent --update --seconds 60 --name DEFAULT --mask 255.255.255.255 --rsource -j Y"),
    # multiport (__multiport_save_v1)
    ("filter", "-A X -p tcp -m multiport --destination-ports 22,23 -j Y",
     "-A X -p tcp -m multiport --dports 22,23 -j Y"),
    ("filter", "-A X -p tcp -m multiport --dports 8000:8080,9090 -j Y",
     "-A X -p tcp -m multiport --dports 8000:8080,9090 -j Y"),
    ("filter", "-A X -p udp -m multiport ! --sports 53,5353 -j Y", "-A X -p udp -m multiport ! --sports 53,5353 -j Y"),
    ("filter", "-A X -p udplite -m multiport --ports 1,2", "-A X -p udplite -m multiport --ports 1,2"),
    # NAT targets (__NAT_print: range, then --random, --random-fully, --persistent)
    ("nat", "-A X -j DNAT --to-destination 192.168.1.5", "-A X -j DNAT --to-destination 192.168.1.5"),
    ("nat", "-A X -p udp -j DNAT --to-destination 192.168.1.5-192.168.1.9:53-60",
     "-A X -p udp -j DNAT --to-destination 192.168.1.5-192.168.1.9:53-60"),
    ("nat", "-A X -p tcp -j DNAT --to-destination :8080", "-A X -p tcp -j DNAT --to-destination :8080"),
    ("nat", "-A X -p tcp -j DNAT --to-destination 192.168.1.5:8080 --persistent --random",
     "-A X -p tcp -j DNAT --to-destination 192.168.1.5:8080 --random --persistent"),
    ("nat", "-A X -j SNAT --to-source 192.168.1.10 --random-fully --random --persistent",
     "-A X -j SNAT --to-source 192.168.1.10 --random --random-fully --persistent"),
    ("nat", "-A X -p tcp -j SNAT --to-source 192.168.1.10:1024-65535",
     "-A X -p tcp -j SNAT --to-source 192.168.1.10:1024-65535"),
    ("nat", "-A X -j MASQUERADE --random-fully --random", "-A X -j MASQUERADE --random --random-fully"),
    ("nat", "-A X -p tcp -j MASQUERADE --to-ports 1024-2048 --random",
     "-A X -p tcp -j MASQUERADE --to-ports 1024-2048 --random"),
    # MARK (mark_tg_parse / mark_tg_save: always --set-xmark value/mask)
    ("mangle", "-A X -j MARK --set-mark 0x4000", "-A X -j MARK --set-xmark 0x4000/0xffffffff"),
    ("mangle", "-A X -j MARK --set-mark 0x4000/0xff00", "-A X -j MARK --set-xmark 0x4000/0xff00"),
    ("mangle", "-A X -j MARK --or-mark 0x4000", "-A X -j MARK --set-xmark 0x4000/0x4000"),
    ("mangle", "-A X -j MARK --xor-mark 0x4000", "-A X -j MARK --set-xmark 0x4000/0x0"),
    ("mangle", "-A X -j MARK --and-mark 0x4000", "-A X -j MARK --set-xmark 0x0/0xffffbfff"),
    ("mangle", "-A X -j MARK --set-xmark 0x4000", "-A X -j MARK --set-xmark 0x4000/0xffffffff"),
    ("mangle", "-A X -j MARK --set-xmark 16/0x10", "-A X -j MARK --set-xmark 0x10/0x10"),
    # CONNMARK (connmark_tg_parse in the order given; connmark_tg_save)
    ("mangle", "-A X -j CONNMARK --set-mark 0x80", "-A X -j CONNMARK --set-xmark 0x80/0xffffffff"),
    ("mangle", "-A X -j CONNMARK --set-mark 0x80/0x80", "-A X -j CONNMARK --set-xmark 0x80/0x80"),
    ("mangle", "-A X -j CONNMARK --or-mark 0x80", "-A X -j CONNMARK --set-xmark 0x80/0x80"),
    ("mangle", "-A X -j CONNMARK --and-mark 0x80", "-A X -j CONNMARK --set-xmark 0x0/0xffffff7f"),
    ("mangle", "-A X -j CONNMARK --xor-mark 0x80", "-A X -j CONNMARK --set-xmark 0x80/0x0"),
    ("mangle", "-A X -j CONNMARK --restore-mark",
     "-A X -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"),
    ("mangle", "-A X -j CONNMARK --restore-mark --mask 0x80",
     "-A X -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80"),
    ("mangle", "-A X -j CONNMARK --save-mark --nfmask 0x80",
     "-A X -j CONNMARK --save-mark --nfmask 0x80 --ctmask 0xffffffff"),
    ("mangle", "-A X -j CONNMARK --ctmask 0x80 --save-mark",
     "-A X -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0x80"),
    ("mangle", "-A X -j CONNMARK --set-mark 0x1 --ctmask 0x80", "-A X -j CONNMARK --set-xmark 0x1/0x80"),
    ("mangle", "-A X -j CONNMARK --ctmask 0x80 --set-mark 0x1", "-A X -j CONNMARK --set-xmark 0x1/0xffffffff"),
    ("mangle", "-A X -j CONNMARK --set-xmark 0x1/0x1 --nfmask 0x80", "-A X -j CONNMARK --set-xmark 0x1/0x1"),
    # REJECT (REJECT_parse: case-insensitive prefix of a name or alias; REJECT_save: always, long name)
    ("filter", "-A X -j REJECT", "-A X -j REJECT --reject-with icmp-port-unreachable"),
    ("filter", "-A X -p tcp -j REJECT --reject-with tcp-rst", "-A X -p tcp -j REJECT --reject-with tcp-reset"),
    ("filter", "-A X -j REJECT --reject-with host-prohib", "-A X -j REJECT --reject-with icmp-host-prohibited"),
    ("filter", "-A X -j REJECT --reject-with ICMP-NET-UNREACHABLE",
     "-A X -j REJECT --reject-with icmp-net-unreachable"),
    ("filter", "-A X -j REJECT --reject-with icmp-admin", "-A X -j REJECT --reject-with icmp-admin-prohibited"),
]


def _restore_text(table: str, rules: list[str]) -> str:
    return f"*{table}\n:X - [0:0]\n:Y - [0:0]\n" + "".join(r + "\n" for r in rules) + "COMMIT\n"


@pytest.fixture(scope="module")
def parsed() -> Ruleset:
    return parse_iptables_save(WRITTEN)


# ------------------------------------------------------------------------------------------ pure: round trips


def test_written_ruleset_renders_as_iptables_save_prints_it(parsed):
    assert render(parsed) == SAVED
    assert parsed.text == SAVED


def test_round_trip_parse_render(parsed):
    assert parse_iptables_save(render(parsed)) == parsed
    assert parse_iptables_save(SAVED) == parsed
    assert render(parse_iptables_save(SAVED)) == SAVED


def test_tables_and_chains_in_iptables_save_order(parsed):
    assert [t.name for t in parsed.tables] == ["mangle", "filter", "nat"]
    nat = [c.name for c in parsed.table("nat").chains]
    assert nat[:4] == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] and nat[4:] == sorted(nat[4:])
    assert parse_iptables_save("*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*nat\nCOMMIT\n").text == \
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"  # missing built-ins added, empty nat skipped


@pytest.mark.parametrize(("table", "written", "saved"), NORMALISATIONS, ids=[n[1] for n in NORMALISATIONS])
def test_normalisation(table, written, saved):
    rule = parse_rule(written)
    assert rule.text == saved
    assert parse_rule(saved) == rule
    ruleset = parse_iptables_save(_restore_text(table, [written]))
    assert ruleset.rules(table, "X") == (rule,)


def test_typed_fields_for_a_tracer(parsed):
    sep = parsed.rules("nat", "KUBE-SEP-A")[1]
    assert sep.protocol == ProtocolMatch(6) and sep.protocol.name == "tcp"
    assert sep.target == Target("DNAT", DnatOptions(NatRange("192.168.1.5", ports=PortRange(8080))))
    svc = parsed.rules("nat", "KUBE-SVC-WEB")
    assert svc[0].source == AddressMatch(ipaddress.IPv4Network("192.168.0.0/16"), negated=True)
    assert not svc[0].source.matches("192.168.3.7") and svc[0].source.matches("10.0.0.1")
    assert svc[0].find("tcp")[0].options == PortOptions(dport=PortMatch(PortRange(80)))
    assert [m.options.probability for r in svc for m in r.find("statistic")] == [0x2AAAAAAB / 2**31, 0.5]
    snat = parsed.rules("nat", "AWS-SNAT-CHAIN-0")[1]
    assert snat.out_iface == InterfaceMatch("vlan+", negated=True) and snat.out_iface.matches("eth0")
    assert snat.find("addrtype")[0].options == AddrtypeOptions(dst_type=("LOCAL",), dst_negated=True)
    assert snat.target.options == SnatOptions(NatRange("192.168.1.10"), random_fully=True)
    masq, xor = parsed.rules("nat", "KUBE-POSTROUTING")[2], parsed.rules("nat", "KUBE-POSTROUTING")[1]
    assert masq.target.options == MasqueradeOptions(random_fully=True)
    assert xor.target.options == MarkTargetOptions(0x4000, 0) and xor.target.options.apply(0x4080) == 0x80
    ret = parsed.rules("nat", "KUBE-POSTROUTING")[0].find("mark")[0].options
    assert ret == MarkOptions(0x4000, 0x4000, negated=True) and ret.matches(0) and not ret.matches(0x4000)
    affinity = parsed.rules("nat", "KUBE-SVC-STICKY")[0].find("recent")[0].options
    assert affinity == RecentOptions("rcheck", name="KUBE-SEP-S1", seconds=10800, reap=True)
    restore = parsed.rules("mangle", "PREROUTING")[1].target.options
    assert restore == ConnmarkOptions("restore", ctmask=0x80, nfmask=0x80)
    assert restore.apply(mark=0x4000, ctmark=0x80) == (0x4080, 0x80)
    firewall = parsed.rules("filter", "KUBE-FIREWALL")[0].find("conntrack")[0].options
    assert firewall == ConntrackOptions(("RELATED", "ESTABLISHED", "DNAT"), negated=True)
    assert parsed.rules("filter", "KUBE-SERVICES")[0].target.options == RejectOptions()


def test_rule_parse_and_text():
    line = ('-A KUBE-SERVICES -d 10.100.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" '
            "-m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU")
    rule = Rule.parse(line)
    assert str(rule) == rule.text == line
    assert rule.matches[0] == Match("comment", CommentOptions("kube-system/kube-dns:dns cluster IP"))
    assert rule.target == Target("KUBE-SVC-TCOU7JCQXEZGVUNU") and rule.target.is_jump
    assert Rule.parse("[5:300] -A X -j ACCEPT").counters == (5, 300)
    assert Rule.parse("[5:300] -A X -j ACCEPT").text == "[5:300] -A X -j ACCEPT"


def test_builder_returns_new_immutable_rulesets():
    empty = Ruleset()
    rs = (empty.add_chain("nat", "KUBE-SVC-X").add_chain("nat", "KUBE-SEP-1")
          .append("nat", "-A KUBE-SEP-1 -p tcp -j DNAT --to-destination 10.0.0.5:80")
          .append("nat", Rule("KUBE-SVC-X", target=Target("KUBE-SEP-1")))
          .insert("nat", "-A KUBE-SVC-X -m comment --comment first -j RETURN")
          .append("nat", "-A PREROUTING -j KUBE-SVC-X")
          .set_policy("nat", "OUTPUT", "DROP"))
    assert empty == Ruleset() and empty.tables == ()
    assert [r.text for r in rs.rules("nat", "KUBE-SVC-X")] == [
        "-A KUBE-SVC-X -m comment --comment first -j RETURN", "-A KUBE-SVC-X -j KUBE-SEP-1"]
    assert rs.chain("nat", "OUTPUT").policy == "DROP"
    assert parse_iptables_save(rs.text) == rs
    rs2 = rs.extend("filter", ["-A INPUT -j ACCEPT", "-A INPUT -j DROP"])
    assert [t.name for t in rs2.tables] == ["filter", "nat"] and len(rs.tables) == 1
    with pytest.raises(NetfilterError, match="already exists"):
        rs.add_chain("nat", "KUBE-SVC-X")
    with pytest.raises(NetfilterError, match="no chain 'NOPE'"):
        rs.append("nat", "-A NOPE -j ACCEPT")
    with pytest.raises(NetfilterError, match="position 9"):
        rs.insert("nat", "-A KUBE-SVC-X -j ACCEPT", 9)
    with pytest.raises(NetfilterError, match="no chain MISSING"):
        rs.append("nat", "-A KUBE-SVC-X -j MISSING")
    with pytest.raises(AttributeError):
        rs.tables = ()  # frozen


def test_render_header_and_counters(parsed):
    from datetime import datetime

    stamp = datetime(2026, 11, 29, 9, 43, 44)
    text = render(parsed, stamp=stamp)
    assert text.startswith("# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 29 09:43:44 2026\n*mangle\n")
    assert text.count("# Completed on Sun Nov 29 09:43:44 2026\n") == 3
    assert [line for line in text.splitlines() if not line.startswith("#")] == SAVED.splitlines()
    assert parse_iptables_save(text) == parsed
    with_counters = render(parsed, counters=True)
    assert "[0:0] -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n" in with_counters
    assert parse_iptables_save(with_counters) != parsed  # rules now carry (0, 0) counters...
    assert render(parse_iptables_save(with_counters), counters=False) == SAVED  # ...which plain save drops
    counted = parse_iptables_save("*filter\n:INPUT DROP [5:500]\n[9:900] -A INPUT -j ACCEPT\nCOMMIT\n")
    assert counted.chain("filter", "INPUT").counters == (5, 500)
    assert render(counted).splitlines()[1:5] == [":INPUT DROP [5:500]", ":FORWARD ACCEPT [0:0]",
                                                ":OUTPUT ACCEPT [0:0]", "[9:900] -A INPUT -j ACCEPT"]


def test_insert_lines_in_restore_text():
    rs = parse_iptables_save("*filter\n-A INPUT -j ACCEPT\n-I INPUT -j DROP\n-I INPUT 2 -j RETURN\nCOMMIT\n")
    assert [r.target.name for r in rs.rules("filter", "INPUT")] == ["DROP", "RETURN", "ACCEPT"]


# ------------------------------------------------------------------------------- pure: quoting and negations


@pytest.mark.parametrize(("text", "quoted"), [
    ("kube-dns", "kube-dns"), ("AWS_SNAT-0", "AWS_SNAT-0"), ("AWS, SNAT", '"AWS, SNAT"'),
    ("kube-system/kube-dns:dns", '"kube-system/kube-dns:dns"'), ("a.b", '"a.b"'), ("", '""'),
    ("it's", '"it\\\'s"'), ('say "hi"', '"say \\"hi\\""'), ("back\\slash", '"back\\\\slash"'), ("$x", '"$x"'),
    ("é", '"é"'), ("tab\tx", '"tab\tx"'), ("!", '"!"'),
])
def test_comment_quoting(text, quoted):
    assert quote(text) == quoted
    rule = Rule("X", matches=(Match("comment", CommentOptions(text)),))
    assert rule.text == f"-A X -m comment --comment {quoted}"
    assert parse_rule(rule.text) == rule
    assert [t.text for t in tokenize(f"--comment {quoted} -j Y")] == ["--comment", text, "-j", "Y"]


def test_tokenizer_is_iptables_restores_not_shlexs():
    # single quotes are ordinary characters; a closing double quote ends the word; a quoted "!" is no negation
    assert [t.text for t in tokenize("--comment 'a b'")] == ["--comment", "'a", "b'"]
    assert [t.text for t in tokenize('"a b"c')] == ["a b", "c"]
    assert parse_rule('-A X -m comment --comment "!" -j ACCEPT').find("comment")[0].options.text == "!"
    with pytest.raises(ParseError, match="Bad argument `d'"):
        parse_rule('-A X -m comment --comment a"b c"d')


@pytest.mark.parametrize(("written", "field", "value"), [
    ("-A X ! -s 10.0.0.0/8", "source", AddressMatch(ipaddress.IPv4Network("10.0.0.0/8"), True)),
    ("-A X ! -d 10.0.0.1", "destination", AddressMatch(ipaddress.IPv4Network("10.0.0.1/32"), True)),
    ("-A X ! -i eth0", "in_iface", InterfaceMatch("eth0", True)),
    ("-A X ! -o vlan+", "out_iface", InterfaceMatch("vlan+", True)),
    ("-A X ! -p udp", "protocol", ProtocolMatch(17, True)),
])
def test_header_negations(written, field, value):
    rule = parse_rule(written)
    assert getattr(rule, field) == value and rule.text == written.replace("10.0.0.1", "10.0.0.1/32")


def test_match_negations_keep_their_place():
    rule = parse_rule("-A X -p tcp ! --dport 80 -m mark ! --mark 1 -m conntrack ! --ctstate NEW "
                      "-m addrtype ! --dst-type LOCAL -m statistic --mode random ! --probability 0.5 "
                      "-m multiport ! --sports 1,2 -m recent ! --rcheck")
    assert rule.text == ("-A X -p tcp -m tcp ! --dport 80 -m mark ! --mark 0x1 -m conntrack ! --ctstate NEW "
                         "-m addrtype ! --dst-type LOCAL -m statistic --mode random ! --probability 0.50000000000 "
                         "-m multiport ! --sports 1,2 -m recent ! --rcheck --name DEFAULT --mask 255.255.255.255 "
                         "--rsource")
    assert [m.options.negated for m in rule.matches if hasattr(m.options, "negated")] == [True] * 5
    assert rule.find("addrtype")[0].options.dst_negated
    assert rule.find("tcp")[0].options.dport == PortMatch(PortRange(80), negated=True)


# ------------------------------------------------------------------------------------------- pure: errors


@pytest.mark.parametrize(("line", "piece", "reason"), [
    ("-A INPUT -m limit --limit 5/s -j ACCEPT", "limit", "unsupported match 'limit'"),
    ("-A INPUT -j LOG --log-prefix x", "LOG", "unsupported target 'LOG'"),
    ("-A INPUT -p tcp --syn -j ACCEPT", "--syn", "unsupported option --syn of tcp"),
    ("-A INPUT -m conntrack --ctproto tcp -j ACCEPT", "--ctproto", "unsupported option --ctproto of conntrack"),
    ("-A INPUT -p icmp --icmp-type 8 -j ACCEPT", "--icmp-type", "-p icmp has no supported match module"),
    ("-A INPUT --frobnicate -j ACCEPT", "--frobnicate", 'unknown option "--frobnicate"'),
    ("-A INPUT -j CONNMARK --restore-mark --left-shift-mark 2", "--left-shift-mark",
     "unsupported option --left-shift-mark of CONNMARK"),
])
def test_unsupported_pieces_are_named_with_the_line(line, piece, reason):
    text = f"*filter\n:INPUT ACCEPT [0:0]\n# a comment line\n{line}\nCOMMIT\n"
    with pytest.raises(ParseError) as caught:
        parse_iptables_save(text)
    error = caught.value
    assert isinstance(error, EkslibError) and isinstance(error, ValueError)
    assert error.line_number == 4 and error.line == line and error.piece == piece
    message = str(error)
    assert message.startswith("line 4: ") and reason in message and line in message
    assert "supported matches: addrtype, comment" in message and "supported targets: ACCEPT" in message


@pytest.mark.parametrize(("text", "number", "reason"), [
    ("*filter\n:X - [0:0]\n-A X -j NOPE\nCOMMIT\n", 3, "no chain NOPE in table filter"),
    ("*filter\n-A NOPE -j ACCEPT\nCOMMIT\n", 2, "Chain 'NOPE' does not exist"),
    ("*filter\n:X - [0:0]\n-A INPUT -j X\n-A X -j X\nCOMMIT\n", 4, "loop INPUT -> X -> X"),
    ("*filter\n-A OUTPUT -i eth0 -j ACCEPT\nCOMMIT\n", 2, "Can't use -i with OUTPUT"),
    ("*filter\n-A INPUT -j DNAT --to-destination 10.0.0.1\nCOMMIT\n", 2, "only valid in the nat table"),
    ("*nat\n-A PREROUTING -j MASQUERADE\nCOMMIT\n", 2, "MASQUERADE is only valid in POSTROUTING"),
    ("*nat\n:X - [0:0]\n-A X -j SNAT --to-source 1.2.3.4\n-A PREROUTING -j X\nCOMMIT\n", 3,
     "reached from PREROUTING"),
    ("*mangle\n-A INPUT -j REJECT\nCOMMIT\n", 2, "REJECT is only valid in the filter table"),
    ("*filter\n-A INPUT -j REJECT --reject-with tcp-reset\nCOMMIT\n", 2, "tcp-reset needs -p tcp"),
    ("*nat\n-A OUTPUT -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n", 2, "Need TCP, UDP, SCTP or DCCP"),
    ("*filter\n-A INPUT -m tcp --dport 80\nCOMMIT\n", 2, "TCP match requires '-p tcp'"),
    ("*filter\n-A INPUT -m multiport --dports 80\nCOMMIT\n", 2, "multiport needs `-p tcp'"),
    ("*filter\n-A INPUT -p tcp --dport 90:80\nCOMMIT\n", 2, "invalid portrange (min > max)"),
    ("*filter\n-A INPUT -p tcp --dport http\nCOMMIT\n", 2, 'Port "http" is not supported'),
    ("*filter\n-A INPUT -p tcp ! --dport 0:65535\nCOMMIT\n", 2, "! 0:65535 is not supported"),
    ("*filter\n-A INPUT ! -s 0.0.0.0/0\nCOMMIT\n", 2, "matches nothing"),
    ("*filter\n-A INPUT -s 10.0.0.1,10.0.0.2\nCOMMIT\n", 2, "address lists"),
    ("*filter\n-A INPUT -s 10.0.0.0/255.0.255.0\nCOMMIT\n", 2, "non-contiguous masks"),
    ("*filter\n-A INPUT -s 10.0.0.1 -s 10.0.0.2\nCOMMIT\n", 2, "multiple -s flags not allowed"),
    ("*filter\n-A INPUT -m mark --mark 1 --mark 2\nCOMMIT\n", 2, 'option "--mark" can only be used once'),
    ("*filter\n-A INPUT -p tcp -m multiport --dports 1,2 --destination-port 80\nCOMMIT\n", 2,
     'multiport: option "--destination-ports" can only be used once'),  # a getopt prefix of multiport's option
    ("*filter\n-A INPUT -m mark --ma 1\nCOMMIT\n", 2, "option '--ma' is ambiguous; possibilities: --match --mark"),
    ("*filter\n-A INPUT -m statistic ! --mode random --probability 0.5\nCOMMIT\n", 2, "cannot be inverted"),
    ("*filter\n-A INPUT -m statistic --mode nth --every 3\nCOMMIT\n", 2, '"--every" also requires "--packet"'),
    ("*filter\n-A INPUT -m statistic --mode random --probability 1.5\nCOMMIT\n", 2, "out of range (0-1)"),
    ("*filter\n-A INPUT -m recent --rcheck --reap\nCOMMIT\n", 2, '"--reap" also requires "--seconds"'),
    ("*filter\n-A INPUT -m recent --rcheck --set\nCOMMIT\n", 2, 'cannot be used together with "--rcheck"'),
    ("*filter\n-A INPUT -m recent --set --seconds 5\nCOMMIT\n", 2, "takes no --seconds/--hitcount/--reap"),
    ("*filter\n-A INPUT -m addrtype --dst-type ! LOCAL\nCOMMIT\n", 2, 'Bad address type "!"'),
    ("*filter\n-A INPUT -i abcdefghijklmnop\nCOMMIT\n", 2, "1 to 15 characters"),
    ("*filter\n-A INPUT -j ACCEPT -j DROP\nCOMMIT\n", 2, "multiple -j flags not allowed"),
    ("*filter\n-A INPUT -m comment --comment " + "a" * 256 + "\nCOMMIT\n", 2, "the kernel keeps 255"),
    ("*filter\n:INPUT - [0:0]\nCOMMIT\n", 2, "built-in chain's policy is ACCEPT or DROP"),
    ("*filter\n:X ACCEPT [0:0]\nCOMMIT\n", 2, "user chain's policy is '-'"),
    ("*filter\n:X - [0:0]\n:X - [0:0]\nCOMMIT\n", 3, "chain X declared twice"),
    ("*bogus\nCOMMIT\n", 1, "unknown table"),
    ("*filter\n-A INPUT -j ACCEPT\n", 2, "COMMIT expected"),
    ("-A INPUT -j ACCEPT\n", 1, "expected *TABLE"),
    ("*filter\n-D INPUT -j ACCEPT\nCOMMIT\n", 2, "starts with -A CHAIN"),
    ("*filter\n-A INPUT -m comment --comment \"open\nCOMMIT\n", 2, "unterminated double quote"),
])
def test_errors_name_the_line(text, number, reason):
    with pytest.raises(ParseError) as caught:
        parse_iptables_save(text)
    assert caught.value.line_number == number
    assert reason in str(caught.value) and str(caught.value).startswith(f"line {number}: ")


def test_objects_refuse_what_iptables_refuses():
    with pytest.raises(NetfilterError, match="unsupported match"):
        Match("limit", None)
    with pytest.raises(NetfilterError, match="unsupported target LOG"):
        Target("LOG")
    with pytest.raises(NetfilterError, match="takes DnatOptions"):
        Target("DNAT")
    with pytest.raises(NetfilterError, match="goto needs a user chain"):
        Target("ACCEPT", goto=True)
    with pytest.raises(NetfilterError, match="SNAT/DNAT need -m conntrack"):
        Match("state", ConntrackOptions(("DNAT",)))
    with pytest.raises(NetfilterError, match="a second -m tcp"):
        Rule("X", protocol=ProtocolMatch(6), matches=(Match("tcp"), Match("tcp")))
    with pytest.raises(NetfilterError, match="nfmask is not used"):
        ConnmarkOptions("set", 1, 1, nfmask=0x80)
    with pytest.raises(NetfilterError, match="1 to 15 ports"):
        MultiportOptions("dports", tuple(PortRange(p) for p in range(16)))
    with pytest.raises(NetfilterError, match="a built-in chain needs a policy"):
        Table("filter", (Chain("INPUT"),))
    with pytest.raises(NetfilterError, match="is a target name"):
        Table("filter", (Chain("DNAT"),))


def test_options_go_where_iptables_sends_them():
    # each module's options are merged once, at its first -m: a later connmark's --mark is read as mark's
    with pytest.raises(ParseError, match='mark: option "--mark" can only be used once'):
        parse_rule("-A X -m connmark --mark 1 -m mark --mark 2 -m connmark --mark 3")
    with pytest.raises(NetfilterError, match="-m connmark again after -m mark"):
        Rule("X", matches=(Match("connmark", MarkOptions(1)), Match("mark", MarkOptions(2)),
                           Match("connmark", MarkOptions(3))))
    rule = parse_rule("-A X -m connmark --mark 1 -m connmark --mark 3 -m mark --mark 2 -m comment --comment a "
                      "-m comment --comment b")
    assert [m.module for m in rule.matches] == ["connmark", "connmark", "mark", "comment", "comment"]
    assert rule.text == ("-A X -m connmark --mark 0x1 -m connmark --mark 0x3 -m mark --mark 0x2 "
                         "-m comment --comment a -m comment --comment b")


def test_equivalent_spellings_compare_equal():
    assert parse_rule("-A X -p tcp --dport 80") == parse_rule("-A X --protocol tcp -m tcp --destination-port 80")
    assert parse_rule("-A X -i + -s 0.0.0.0/0 -p all") == Rule("X")
    assert Rule("X", in_iface=InterfaceMatch("+")) == Rule("X")
    assert Match("tcp", PortOptions(dport=PortMatch(PortRange(0, 65535)))) == Match("tcp")
    assert StatisticOptions("random", 1 / 3) == StatisticOptions("random", 0.33333333349)
    assert ConntrackOptions(("ESTABLISHED", "NEW")) == ConntrackOptions(("NEW", "ESTABLISHED"))
    assert parse_rule("-A X -j MARK --or-mark 0x4000") == parse_rule("-A X -j MARK --set-xmark 0x4000/0x4000")
    assert parse_rule("-A X -j CONNMARK --restore-mark") == parse_rule(
        "-A X -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff")


# ------------------------------------------------------------------------------ pure: hypothesis property

_IFACE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_@", min_size=1, max_size=14).filter(
    lambda n: n[0] != "-")
_COMMENT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\t"),
                   max_size=40).filter(lambda t: len(t.encode()) <= 255)
_U32 = st.integers(0, MASK32)
_PORT = st.integers(0, 65535)
_PORT_RANGE = st.tuples(_PORT, _PORT).map(lambda p: PortRange(min(p), max(p)))
_NETWORK = st.builds(lambda a, n: ipaddress.IPv4Network((a, n), strict=False), _U32, st.integers(1, 32))
_NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1,
                 max_size=30).filter(lambda n: n[0] != "-" and n not in (".", ".."))
_ADDRESS = st.builds(lambda a: ipaddress.IPv4Address(a), _U32)


@st.composite
def _nat_range(draw, ports: bool) -> NatRange:
    low = draw(st.none() | _ADDRESS) if ports else draw(_ADDRESS)
    high = None if low is None else draw(st.none() | st.builds(ipaddress.IPv4Address, st.integers(int(low), MASK32)))
    port_range = draw(_PORT_RANGE) if ports and (low is None or draw(st.booleans())) else None
    return NatRange(low, high, port_range)


def _options_for(module: str, protocol: ProtocolMatch | None):
    if module in ("tcp", "udp", "sctp"):
        port = st.none() | st.builds(PortMatch, _PORT_RANGE, st.booleans())
        return st.builds(PortOptions, port, port).filter(
            lambda o: module == "sctp" or all(p is None or not p.negated or (p.ports.first, p.ports.last) != (0, 65535)
                                              for p in (o.sport, o.dport)))
    return {
        "comment": st.builds(CommentOptions, _COMMENT),
        "addrtype": st.builds(
            lambda src, dst, src_neg, dst_neg, limit: AddrtypeOptions(
                tuple(src), tuple(dst), src_neg and bool(src), dst_neg, limit == "in", limit == "out"),
            st.sets(st.sampled_from(["LOCAL", "UNICAST", "BROADCAST", "MULTICAST"]), max_size=2),
            st.sets(st.sampled_from(["LOCAL", "UNICAST", "BLACKHOLE"]), min_size=1, max_size=2), st.booleans(),
            st.booleans(), st.sampled_from(["", "in", "out"])),
        "statistic": st.one_of(
            st.builds(StatisticOptions, st.just("random"), st.floats(0, 1), negated=st.booleans()),
            st.integers(1, 1000).flatmap(lambda every: st.builds(
                StatisticOptions, st.just("nth"), every=st.just(every), packet=st.integers(0, every - 1),
                negated=st.booleans()))),
        "mark": st.builds(MarkOptions, _U32, _U32, st.booleans()),
        "connmark": st.builds(MarkOptions, _U32, _U32, st.booleans()),
        "conntrack": st.builds(ConntrackOptions, st.sets(st.sampled_from(
            ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"]), min_size=1), st.booleans()),
        "state": st.builds(ConntrackOptions, st.sets(st.sampled_from(
            ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED"]), min_size=1), st.booleans()),
        "recent": st.builds(
            lambda command, name, seconds, reap, hitcount, rttl, mask, rsource, negated: RecentOptions(
                command, name, *((seconds, reap and seconds is not None, hitcount, rttl)
                                 if command in ("rcheck", "update") else (None, False, None, False)),
                mask, rsource, negated),
            st.sampled_from(["set", "rcheck", "update", "remove"]), _NAMES, st.none() | st.integers(1, 100000),
            st.booleans(), st.none() | st.integers(0, 20), st.booleans(), _ADDRESS, st.booleans(), st.booleans()),
        "multiport": st.builds(MultiportOptions, st.sampled_from(["sports", "dports", "ports"]), st.lists(
            st.one_of(st.builds(PortRange, _PORT),
                      st.tuples(_PORT, _PORT).filter(lambda p: p[0] != p[1]).map(
                          lambda p: PortRange(min(p), max(p)))), min_size=1, max_size=7), st.booleans()),
    }[module]


_TABLE_OF_TARGET = {"DNAT": "nat", "SNAT": "nat", "MASQUERADE": "nat", "REJECT": "filter", "MARK": "mangle",
                    "CONNMARK": "mangle"}


@st.composite
def rules(draw) -> Rule:
    """A rule in user chain X from the supported vocabulary; jumps go to chain Y."""
    protocol = draw(st.none() | st.builds(ProtocolMatch, st.sampled_from([6, 17, 132, 136, 33, 1, 47, 58, 4, 250]),
                                          st.booleans()))
    plain = None if protocol is None or protocol.negated else protocol.number
    modules = ["comment", "addrtype", "statistic", "mark", "connmark", "conntrack", "state", "recent"]
    modules += {6: ["tcp"], 17: ["udp"], 132: ["sctp"]}.get(plain, [])
    modules += ["multiport"] if plain in (6, 17, 136, 132, 33) else []
    chosen = draw(st.lists(st.sampled_from(modules), max_size=4))
    chosen = [m for i, m in enumerate(chosen) if m not in ("tcp", "udp", "sctp") or m not in chosen[:i]]
    marks = [m for m in chosen if m in ("mark", "connmark")]  # one of them may repeat only before the other
    chosen = [m for m in chosen if m not in ("mark", "connmark")] + sorted(marks)
    matches = tuple(Match(m, draw(_options_for(m, protocol))) for m in chosen)
    ported = protocol is not None and protocol.number in (6, 17, 132, 33)
    target = draw(st.one_of(
        st.none(), st.builds(Target, st.sampled_from(["ACCEPT", "DROP", "RETURN", "Y"])),
        st.builds(Target, st.just("Y"), goto=st.just(True)),
        st.builds(lambda r, *f: Target("DNAT", DnatOptions(r, *f)), _nat_range(ported), st.booleans(), st.booleans()),
        st.builds(lambda r, *f: Target("SNAT", SnatOptions(r, *f)), _nat_range(ported), st.booleans(), st.booleans(),
                  st.booleans()),
        st.builds(lambda p, *f: Target("MASQUERADE", MasqueradeOptions(p, *f)),
                  _PORT_RANGE if ported else st.none(), st.booleans(), st.booleans()),
        st.builds(lambda v, m: Target("MARK", MarkTargetOptions(v, m)), _U32, _U32),
        st.builds(lambda v, m: Target("CONNMARK", ConnmarkOptions("set", v, m)), _U32, _U32),
        st.builds(lambda mode, c, n: Target("CONNMARK", ConnmarkOptions(mode, 0, c, n)),
                  st.sampled_from(["save", "restore"]), _U32, _U32),
        st.builds(lambda w: Target("REJECT", RejectOptions(w)), st.sampled_from(
            ["icmp-port-unreachable", "icmp-host-prohibited", "icmp-net-unreachable", "icmp-admin-prohibited"]
            + (["tcp-reset"] if plain == 6 else []))),
    ))
    address = st.none() | st.builds(AddressMatch, _NETWORK, st.booleans())
    iface = st.none() | st.builds(InterfaceMatch, st.builds(lambda n, plus: n + "+" if plus else n, _IFACE,
                                                            st.booleans()), st.booleans())
    return Rule("X", draw(address), draw(address), draw(iface), draw(iface), protocol, matches, target)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules())
def test_property_parse_render_round_trip(rule):
    assert parse_rule(rule.text) == rule
    assert parse_rule(parse_rule(rule.text).text).text == rule.text


# ----------------------------------------------------------------------------- root: the real iptables-save


def _iptables_save_after_restore(text: str) -> str:
    """What iptables-save prints after iptables-restore of ``text``, in a new network namespace (never the
    host's); skips when that cannot be done here."""
    if os.geteuid() != 0:
        pytest.skip("needs root: iptables-restore runs in a new network namespace (unshare --net)")
    for tool in ("iptables-restore", "iptables-save", "unshare"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install iptables util-linux)")
    probe = subprocess.run(["unshare", "--net", "--", "iptables-restore", "--version"], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --net failed here: {probe.stderr.strip() or probe.returncode}")
    if "nf_tables" not in probe.stdout:
        pytest.skip(f"the expected texts are iptables-nft's; this iptables is {probe.stdout.strip()}")
    run = subprocess.run(["unshare", "--net", "--", "sh", "-c", "iptables-restore && iptables-save"], input=text,
                         capture_output=True, text=True)
    assert run.returncode == 0, f"iptables-restore refused the text: {run.stderr}\n{text}"
    return run.stdout


def _body(text: str) -> list[str]:
    """The lines without comment lines and with counters dropped."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return [re.sub(r"^\[\d+:\d+\] ", "", re.sub(r" \[\d+:\d+\]$", "", line)) for line in lines]


@pytest.mark.root
def test_real_iptables_round_trip(parsed):
    saved = _iptables_save_after_restore(render(parsed))
    assert _body(saved) == _body(render(parsed))
    assert parse_iptables_save(saved) == parsed
    written = _iptables_save_after_restore(WRITTEN)  # and the way a person wrote it
    assert _body(written) == _body(SAVED)


@pytest.mark.root
def test_real_iptables_normalisations():
    for table in ("filter", "nat", "mangle"):
        cases = [(written, saved) for t, written, saved in NORMALISATIONS if t == table]
        out = _iptables_save_after_restore(_restore_text(table, [written for written, _ in cases]))
        assert [line for line in _body(out) if line.startswith("-A ")] == [saved for _, saved in cases]


@pytest.mark.root
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rules(), min_size=1, max_size=40))
def test_real_iptables_prints_generated_rules_as_rendered(batch):
    tables: dict[str, list[Rule]] = {}
    for rule in batch:
        table = _TABLE_OF_TARGET.get(rule.target.name if rule.target else "", "filter")
        tables.setdefault(table, []).append(rule)
    ruleset = Ruleset(tuple(Table(name, (Chain("X", rules=tuple(rs)), Chain("Y"))) for name, rs in tables.items()))
    saved = _iptables_save_after_restore(render(ruleset))
    assert _body(saved) == _body(render(ruleset))
    assert parse_iptables_save(saved) == ruleset
