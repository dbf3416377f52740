"""The agent's web app: `POST /sensors`, the status page, /api/status, /metrics, /healthz and
the settings form; the daemon passes its context (`ctx`)."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge_agent import status as status_mod
from edge_agent.sources.http import post_sensors
from edge_agent.web.asgi import App, Request, Response, error, json_response

MIN_INTERVAL, MAX_INTERVAL = 1.0, 7 * 86400.0
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(),
)


def create_app(ctx: Any) -> App:
    return App(
        ctx,
        {
            ("POST", "/sensors"): post_sensors,
            ("GET", "/"): page,
            ("GET", "/api/status"): api_status,
            ("GET", "/metrics"): metrics,
            ("GET", "/healthz"): healthz,
            ("POST", "/settings"): settings,
        },
    )


def _status(ctx: Any) -> dict[str, Any]:
    data = status_mod.collect(ctx.state_dir)
    data["live"] = ctx.live()
    return data


def page(ctx: Any, request: Request) -> Response:
    html = _templates.get_template("status.html").render(
        s=_status(ctx), msg=request.query.get("msg", "")
    )
    return Response(200, html.encode(), "text/html; charset=utf-8")


def api_status(ctx: Any, _request: Request) -> Response:
    return json_response(_status(ctx))


def metrics(ctx: Any, _request: Request) -> Response:
    return Response(200, generate_latest(ctx.registry), CONTENT_TYPE_LATEST)


def healthz(ctx: Any, _request: Request) -> Response:
    ok = ctx.healthy()
    return json_response({"ok": ok}, 200 if ok else 503)


def settings(ctx: Any, request: Request) -> Response:
    form = request.form()
    token = form.get("admin_token", "") or request.headers.get("x-admin-token", "")
    if not ctx.admin_token:
        return error(403, "settings are read-only: no [http] admin_token configured")
    if not hmac.compare_digest(token.encode(), ctx.admin_token.encode()):
        return error(403, "wrong admin token")
    raw = form.get("batch_interval", "")
    try:
        seconds = float(raw)
    except ValueError:
        return error(400, f"batch_interval must be a number of seconds, got {raw!r}")
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        return error(400, f"batch_interval must be {MIN_INTERVAL:g}..{MAX_INTERVAL:g} seconds")
    ctx.set_interval(seconds)
    if form.get("from_page"):
        location = f"/?msg=interval+set+to+{seconds:g}s"
        return Response(303, b"", "text/plain", [("location", location)])
    return json_response({"batch_interval": seconds})
