"""Real traffic between lab namespaces, and what the kernel recorded of it.

* servers: a TCP and a UDP socket on each port asked for, in every pod and outside host (sockets made inside a
  namespace stay there, so one thread serves them all); each answers with the peer address it saw;
* captures: an ``AF_PACKET`` socket on each pod's and host's ``eth0`` (the packets a receiver got, before any
  socket: what a SYN looked like even when the handshake never completed);
* ``conntrack -L`` inside the namespaces that translate (nodes, the NAT gateway, the load balancers), parsed
  into the engine's :class:`~ekslib.flows.flow.ConntrackEntry`, and ``iptables-save -c`` / ``ebtables-save -c``
  counters to name the rule that dropped a packet.

Everything here only opens sockets inside the lab's namespaces and sends to addresses the lab holds.

>>> parse_conntrack("tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80 "
...                 "src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000 [ASSURED] mark=0 use=1", "z")[0].reply_src
Address(ip=IPv4Address('10.0.0.2'), port=80)
"""

from __future__ import annotations

import re
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from ekslib.flows.flow import Address, ConntrackEntry
from ekslib.lab.kernel import in_namespace

#: How long a connection may take inside the lab before it counts as failed (the lab's links answer in
#: microseconds; TCP would retransmit a lost SYN only after 1 s).
TIMEOUT = 0.3
_ETH_P_IP, _PACKET_OUTGOING = 0x0800, 4
_CT = re.compile(r"^(?P<proto>tcp|udp)\s+\d+\s+\d+\s+(?:(?P<state>[A-Z_]+)\s+)?(?P<rest>.*)$")


def parse_conntrack(text: str, zone: str) -> list[ConntrackEntry]:
    """``conntrack -L`` output as ConntrackEntry objects (TCP and UDP lines; others are skipped)."""
    out = []
    for line in text.splitlines():
        match = _CT.match(line.strip())
        if not match:
            continue
        fields = re.findall(r"(src|dst|sport|dport|mark)=(\S+)", match["rest"])
        values: dict[str, list[str]] = {}
        for key, value in fields:
            values.setdefault(key, []).append(value)
        try:
            orig = (Address(IPv4Address(values["src"][0]), int(values["sport"][0])),
                    Address(IPv4Address(values["dst"][0]), int(values["dport"][0])))
            reply = (Address(IPv4Address(values["src"][1]), int(values["sport"][1])),
                     Address(IPv4Address(values["dst"][1]), int(values["dport"][1])))
        except (KeyError, IndexError, ValueError):
            continue
        out.append(ConntrackEntry(zone, match["proto"], *orig, *reply, int(values.get("mark", ["0"])[0])))
    return out


@dataclass(frozen=True)
class Packet:
    """A captured IPv4 TCP or UDP packet: where, which way, addresses, and the TCP flags."""

    namespace: str
    incoming: bool
    protocol: str
    src: Address
    dst: Address
    flags: str = ""

    @property
    def opens(self) -> bool:
        """A TCP SYN (without ACK) or any UDP datagram: the first packet of a connection."""
        return self.protocol == "udp" or self.flags == "S"


def _parse_frame(namespace: str, frame: bytes, pkttype: int) -> Packet | None:
    if len(frame) < 20 or frame[0] >> 4 != 4:
        return None
    ihl = (frame[0] & 0x0F) * 4
    proto = frame[9]
    if proto not in (6, 17) or len(frame) < ihl + 4:
        return None
    src, dst = IPv4Address(frame[12:16]), IPv4Address(frame[16:20])
    sport, dport = struct.unpack("!HH", frame[ihl:ihl + 4])
    flags = ""
    if proto == 6 and len(frame) >= ihl + 14:
        bits = frame[ihl + 13]
        flags = "".join(name for bit, name in ((0x02, "S"), (0x10, "A"), (0x04, "R"), (0x01, "F")) if bits & bit)
    return Packet(namespace, pkttype != _PACKET_OUTGOING, "tcp" if proto == 6 else "udp",
                  Address(src, sport), Address(dst, dport), flags)


@dataclass
class Traffic:
    """Servers and captures in the lab's namespaces. ``receivers`` maps namespace -> what it stands for."""

    receivers: dict[str, str]
    ports: tuple[int, ...]
    listeners: list[tuple[socket.socket, str, str]] = field(default_factory=list)
    captures: list[tuple[socket.socket, str]] = field(default_factory=list)

    def start(self) -> None:
        for ns in self.receivers:
            with in_namespace(ns):
                cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(_ETH_P_IP))
                cap.bind(("eth0", _ETH_P_IP))
                cap.setblocking(False)
                self.captures.append((cap, ns))
                for port in self.ports:
                    for kind, proto in ((socket.SOCK_STREAM, "tcp"), (socket.SOCK_DGRAM, "udp")):
                        s = socket.socket(socket.AF_INET, kind)
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        s.bind(("0.0.0.0", port))
                        if proto == "tcp":
                            s.listen(16)
                        s.setblocking(False)
                        self.listeners.append((s, ns, proto))

    def close(self) -> None:
        for s, *_ in self.listeners:
            s.close()
        captures = [s for s, _ in self.captures]
        self.listeners.clear()
        self.captures.clear()
        # closing a packet socket waits for an RCU grace period (~12 ms each): let a thread do it
        threading.Thread(target=lambda: [s.close() for s in captures], daemon=True).start()

    def drain(self) -> list[Packet]:
        """The packets captured since the last drain, in arrival order per namespace."""
        out = []
        for cap, ns in self.captures:
            while True:
                try:
                    frame, address = cap.recvfrom(65535)
                except BlockingIOError:
                    break
                packet = _parse_frame(ns, frame, address[2])
                if packet is not None:
                    out.append(packet)
        return out

    def connect(self, source_ns: str, destination: Address, protocol: str, sport: int,
                timeout: float = TIMEOUT) -> Attempt:
        """Open one connection (TCP) or send one datagram (UDP) from ``source_ns`` (source port ``sport``) to
        ``destination``; serve it wherever it lands; return what each side saw."""
        self.drain()
        kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
        with in_namespace(source_ns):
            client = socket.socket(socket.AF_INET, kind)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.setblocking(False)
        attempt = Attempt(protocol)
        try:
            client.bind(("0.0.0.0", sport))
            target = (str(destination.ip), destination.port)
            if protocol == "tcp":
                client.connect_ex(target)
            else:
                client.sendto(b"ekslab", target)
            self._serve(client, attempt, timeout)
        finally:
            client.close()
        time.sleep(0.005)  # let the last packets reach the captures
        attempt.packets = self.drain()
        return attempt

    def _serve(self, client: socket.socket, attempt: Attempt, timeout: float) -> None:
        by_socket = {s: (ns, proto) for s, ns, proto in self.listeners if proto == attempt.protocol}
        accepted: dict[socket.socket, str] = {}
        sent = attempt.protocol == "udp"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not attempt.reply:
            readers = [*by_socket, *accepted, client]
            writers = [] if sent else [client]
            ready_r, ready_w, _ = select.select(readers, writers, [], max(0.0, deadline - time.monotonic()))
            if client in ready_w and not sent:
                if client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    break
                client.send(b"ekslab")
                sent = True
            for s in ready_r:
                if s is client:
                    try:
                        data = client.recv(256)
                    except (ConnectionError, OSError):
                        return
                    attempt.reply = data.decode(errors="replace")
                elif s in accepted:
                    data = s.recv(256)
                    if data:
                        s.send(f"saw {attempt.seen_source}".encode())
                elif attempt.protocol == "tcp":
                    conn, peer = s.accept()
                    ns, _ = by_socket[s]
                    attempt.receiver = ns
                    attempt.seen_source = Address(IPv4Address(peer[0]), peer[1])
                    local = conn.getsockname()
                    attempt.seen_destination = Address(IPv4Address(local[0]), local[1])
                    accepted[conn] = ns
                else:
                    data, peer = s.recvfrom(256)
                    ns, _ = by_socket[s]
                    attempt.receiver = ns
                    attempt.seen_source = Address(IPv4Address(peer[0]), peer[1])
                    attempt.seen_destination = Address(IPv4Address("0.0.0.0"), s.getsockname()[1])
                    s.sendto(f"saw {attempt.seen_source}".encode(), peer)
        for conn in accepted:
            conn.close()


@dataclass
class Attempt:
    """One connection as the kernel saw it: who accepted it and from where, whether the client got the answer,
    and the packets captured at the receivers."""

    protocol: str
    receiver: str = ""
    seen_source: Address | None = None
    seen_destination: Address | None = None
    reply: str = ""
    packets: list[Packet] = field(default_factory=list)

    @property
    def arrived(self) -> list[Packet]:
        """Incoming first packets (SYN, datagram) of this attempt, at any receiver."""
        return [p for p in self.packets if p.incoming and p.opens and p.protocol == self.protocol]

    @property
    def delivered(self) -> bool:
        return bool(self.receiver) or bool(self.arrived)

    @property
    def receiver_namespace(self) -> str:
        return self.receiver or (self.arrived[0].namespace if self.arrived else "")

    @property
    def source_seen(self) -> Address | None:
        return self.seen_source or (self.arrived[0].src if self.arrived else None)

    @property
    def reply_accepted(self) -> bool:
        return bool(self.reply)
