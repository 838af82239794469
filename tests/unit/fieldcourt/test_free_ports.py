"""Ports for a broker and its controller: distinct, and free when handed out."""

from __future__ import annotations

import socket

from fieldcourt.kafka_local import free_ports


def test_ports_chosen_together_are_distinct_and_free() -> None:
    for _ in range(50):  # one at a time, the system handed the same port out twice in CI
        ports = free_ports(3)
        assert len(set(ports)) == 3
        for port in ports:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", port))  # free: binding it again works
