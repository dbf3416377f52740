"""The agent's uvicorn wrapper: the listening socket, and clients beyond the connection cap."""

from __future__ import annotations

import http.client
import logging
import socket
import time

import pytest

from edge_agent.web.server import WebServer


async def hello(scope, receive, send) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


@pytest.fixture
def server():
    busy: list[int] = []
    ws = WebServer(hello, "127.0.0.1", 0, on_busy=lambda: busy.append(1), max_connections=3)
    ws.busy = busy
    ws.start()
    deadline = time.monotonic() + 10
    while not ws.server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield ws
    ws.stop()


def _get(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    return conn


def test_listener_turns_nagle_off(server) -> None:
    # asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets; without it every answer waits
    # ~40 ms for the client's delayed ACK (docs/edge-agent.md)
    assert server.sock.proto == socket.IPPROTO_TCP
    assert server.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_clients_past_the_cap_get_503_counted_and_logged_once(server, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="uvicorn.error")
    # uvicorn counts the new connection itself: 2 are served while a 3rd is refused
    held = [_get(server.port) for _ in range(2)]  # keep-alive: both stay open
    for conn in held:
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"hi"
    refused = []
    for _ in range(5):
        conn = _get(server.port)
        refused.append(conn.getresponse().status)
        conn.close()
    assert refused == [503] * 5
    assert len(server.busy) == 5
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.error"]
    assert lines == ["connection limit (3) reached: answering 503"]
    for conn in held:
        conn.close()
    # the cap counts open connections: once they close, clients are served again
    deadline = time.monotonic() + 5
    while True:
        conn = _get(server.port)
        status = conn.getresponse().status
        conn.close()
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200
