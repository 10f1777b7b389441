"""The loopback guard: nothing but loopback, checked before any packet is sent."""

from __future__ import annotations

import socket

import pytest

from course_helpers import netguard


def test_guard_is_active_in_tests() -> None:
    assert netguard.installed()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.5.5", "::1", "localhost"])
def test_loopback_allowed(host) -> None:
    assert netguard.is_loopback(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "10.0.0.1", "192.168.1.1", "openrouter.ai", "", None])
def test_other_hosts_refused(host) -> None:
    assert not netguard.is_loopback(host)


def test_connect_refused_without_touching_the_network(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(netguard, "_real_connect", lambda sock, addr: calls.append(addr))
    with socket.socket() as s, pytest.raises(netguard.NetworkBlocked):
        s.connect(("203.0.113.7", 443))
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("openrouter.ai", 443)
    assert calls == []


def test_loopback_connect_still_works(course) -> None:
    port = int(course.provider.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
