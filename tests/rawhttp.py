"""Raw HTTP over a socket, for tests that send what no HTTP client library would (broken framing)."""

from __future__ import annotations

import json
import socket


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def exchange(url: str, payload: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes; return the answer (head and body) once complete, or whatever came before the
    server closed the connection or went quiet for ``timeout`` seconds."""
    with socket.create_connection(("127.0.0.1", port_of(url)), timeout=timeout) as s:
        s.sendall(payload)
        out = b""
        try:
            while b"\r\n\r\n" not in out or len(out) < out.index(b"\r\n\r\n") + 4 + content_length(out):
                data = s.recv(65536)
                if not data:
                    break
                out += data
        except (socket.timeout, ConnectionResetError):
            pass
    return out


def status_and_json(raw: bytes) -> tuple[int, dict]:
    """The status and JSON body of a raw answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), raw[:200]
    return int(head.split()[1]), json.loads(body[:content_length(head)])
