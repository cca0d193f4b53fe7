"""The session-wide network jail of conftest.py holds (so no test can reach beyond loopback)."""

from __future__ import annotations

import errno
import socket

import pytest


def test_no_dns_for_outside_names():
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("example.com", 80)


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.1", "8.8.8.8", "::ffff:10.0.0.1"])
def test_no_connect_beyond_loopback(address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError) as raised:
            sock.connect((address, 80))
        assert raised.value.errno == errno.ENETUNREACH
    finally:
        sock.close()


def test_loopback_still_works():
    server = socket.socket()
    server.bind(("127.0.0.5", 0))
    server.listen(1)
    client = socket.socket()
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
    assert socket.getaddrinfo("localhost", 80)
