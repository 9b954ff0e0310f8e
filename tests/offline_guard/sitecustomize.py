"""Keep every Python process of the test suite offline.

The test suite puts this folder on PYTHONPATH, so Python imports this file at start-up in
pytest itself and in every Jupyter kernel it launches. It refuses any socket connection or
name lookup that leaves the machine; loopback stays open because Jupyter kernels talk over
it. A notebook that tries to download something therefore fails the tests instead of
depending on the network.
"""

from __future__ import annotations

import ipaddress
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NetworkBlockedError(OSError):
    """Raised instead of opening a connection that would leave this machine."""


def is_local(host: object) -> bool:
    """True for loopback addresses and names; False for anything that would leave the machine."""
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_local(host):
        raise NetworkBlockedError(f"network access is blocked in the test suite: {address!r}")


def guarded_connect(sock: socket.socket, address: object) -> None:
    _check(sock, address)
    return _real_connect(sock, address)


def guarded_connect_ex(sock: socket.socket, address: object) -> int:
    _check(sock, address)
    return _real_connect_ex(sock, address)


def guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and not is_local(host):
        raise NetworkBlockedError(f"name lookup is blocked in the test suite: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = guarded_connect
socket.socket.connect_ex = guarded_connect_ex
socket.getaddrinfo = guarded_getaddrinfo
