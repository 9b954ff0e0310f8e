"""The suite runs with the network blocked: prove the block is real and in place."""

from __future__ import annotations

import socket
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebook_files import ROOT

guard = sys.modules["sitecustomize"]


def test_the_guard_is_installed_in_this_process():
    assert guard.__file__.startswith(str(ROOT / "tests" / "offline_guard"))
    assert socket.socket.connect is guard.guarded_connect
    assert socket.getaddrinfo is guard.guarded_getaddrinfo


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.8.9.10"])
def test_loopback_counts_as_local(host):
    assert guard.is_local(host)


@pytest.mark.parametrize("host", ["198.51.100.7", "2001:db8::1", "huggingface.co", None])
def test_everything_else_is_remote(host):
    assert not guard.is_local(host)


def test_remote_connections_are_refused_before_any_packet(monkeypatch):
    attempts = []
    monkeypatch.setattr(guard, "_real_connect", lambda sock, address: attempts.append(address))
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(guard.NetworkBlockedError),
    ):
        sock.connect(("198.51.100.7", 443))
    with pytest.raises(guard.NetworkBlockedError):
        socket.getaddrinfo("huggingface.co", 443)
    assert attempts == []


def test_loopback_still_works():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


def test_notebook_kernels_start_with_the_guard():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import socket\nprint(socket.socket.connect.__name__)")
    ]
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    assert notebook.cells[0].outputs[0].text.strip() == "guarded_connect"
