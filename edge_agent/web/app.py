"""Flask app of the status page, metrics and settings; the daemon passes its context."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from edge_agent import status as status_mod
from edge_agent.sources.http import sensors

MIN_INTERVAL, MAX_INTERVAL = 1.0, 7 * 86400.0


def create_app(ctx: Any) -> Flask:
    app = Flask(__name__)
    app.config["AGENT"] = ctx
    app.register_blueprint(sensors)
    app.add_url_rule("/", view_func=page)
    app.add_url_rule("/api/status", view_func=api_status)
    app.add_url_rule("/metrics", view_func=metrics)
    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/settings", view_func=settings, methods=["POST"])
    return app


def _status() -> dict[str, Any]:
    ctx = current_app.config["AGENT"]
    data = status_mod.collect(ctx.state_dir)
    data["live"] = ctx.live()
    return data


def page() -> str:
    return render_template("status.html", s=_status(), msg=request.args.get("msg", ""))


def api_status() -> Response:
    return jsonify(_status())


def metrics() -> Response:
    ctx = current_app.config["AGENT"]
    return Response(generate_latest(ctx.registry), mimetype=CONTENT_TYPE_LATEST)


def healthz() -> tuple[Response, int]:
    ctx = current_app.config["AGENT"]
    ok = ctx.healthy()
    return jsonify({"ok": ok}), 200 if ok else 503


def settings() -> tuple[Any, int] | Response:
    ctx = current_app.config["AGENT"]
    token = request.form.get("admin_token", "") or request.headers.get("X-Admin-Token", "")
    if not ctx.admin_token:
        return jsonify({"error": "settings are read-only: no [http] admin_token configured"}), 403
    if not hmac.compare_digest(token.encode(), ctx.admin_token.encode()):
        return jsonify({"error": "wrong admin token"}), 403
    raw = request.form.get("batch_interval", "")
    try:
        seconds = float(raw)
    except ValueError:
        return jsonify({"error": f"batch_interval must be a number of seconds, got {raw!r}"}), 400
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        return jsonify(
            {"error": f"batch_interval must be {MIN_INTERVAL:g}..{MAX_INTERVAL:g} seconds"}
        ), 400
    ctx.set_interval(seconds)
    if request.form.get("from_page"):
        return Response(status=303, headers={"Location": f"/?msg=interval+set+to+{seconds:g}s"})
    return jsonify({"batch_interval": seconds}), 200
