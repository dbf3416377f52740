"""A local HTTP stub of the PostgREST calls supabase-py makes for the notification feed
(there is no Supabase/PostgREST server to run here). It keeps rows in memory, implements
only what SupabaseFeed uses — insert; select with gt/order/limit; exact count — and records
every request so tests can check what the client sent."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class StubRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any = None


@dataclass
class PostgrestStub:
    rows: list[dict[str, Any]] = field(default_factory=list)
    requests: list[StubRequest] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status (outage)

    def start(self) -> PostgrestStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _record(self, body: Any = None) -> StubRequest:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = StubRequest(self.command, parts.path, params, headers, body)
                stub.requests.append(request)
                return request

            def _reply(self, status: int, payload: Any = None, headers: dict | None = None):
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                request = self._record(body)
                if stub.fail_with:
                    return self._reply(stub.fail_with, {"message": "stub outage"})
                if request.path != "/rest/v1/notifications":
                    return self._reply(404, {"message": f"no table at {request.path}"})
                for row in body if isinstance(body, list) else [body]:
                    stub.rows.append({**row, "seq": len(stub.rows) + 1})
                return self._reply(201)

            def do_GET(self) -> None:
                request = self._record()
                if stub.fail_with:
                    return self._reply(stub.fail_with, {"message": "stub outage"})
                rows = list(stub.rows)
                if "seq" in request.params:
                    op, value = request.params["seq"].split(".", 1)
                    assert op == "gt", f"stub knows only seq=gt., got {op}"
                    rows = [r for r in rows if r["seq"] > int(value)]
                if request.params.get("order", "seq.asc").startswith("seq"):
                    rows.sort(key=lambda r: r["seq"])
                total = len(rows)
                if "limit" in request.params:
                    rows = rows[: int(request.params["limit"])]
                columns = request.params.get("select", "*")
                if columns != "*":
                    keep = columns.split(",")
                    rows = [{k: r.get(k) for k in keep} for r in rows]
                headers = {}
                if "count=exact" in request.headers.get("prefer", ""):
                    headers["Content-Range"] = f"0-{max(len(rows) - 1, 0)}/{total}"
                return self._reply(200, rows, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
