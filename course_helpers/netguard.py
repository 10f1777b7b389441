"""Loopback-only network guard: tests, CI and graded notebooks must never reach the internet.

Installed by ``tests/conftest.py`` in the test process and, through
``COURSE_LOOPBACK_ONLY=1``, by :func:`course_helpers.start_lesson` in every notebook
kernel that nbval or the grader (:mod:`course_helpers.grade`) starts. A connection or DNS lookup for anything but a loopback
address raises :class:`NetworkBlocked` before a single packet leaves the machine.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(ConnectionRefusedError):
    """Raised instead of leaving loopback (a ConnectionError, so clients map it cleanly)."""


def is_loopback(host: Any) -> bool:
    """True for 127.0.0.0/8, ::1, 'localhost' and Unix sockets."""
    if host is None or isinstance(host, bytes):
        return False
    if str(host).lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not is_loopback(host):
        raise NetworkBlocked(f"Сеть за пределами loopback запрещена (тесты и проверка ноутбуков — офлайн): "
                             f"{host!r}")


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME,
                              f"DNS за пределами loopback запрещён (тесты и проверка ноутбуков — офлайн): {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    """Patch socket.connect / connect_ex / getaddrinfo for this process (idempotent)."""
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


def installed() -> bool:
    """True if the guard is active in this process."""
    return socket.socket.connect is _connect
