"""`ingest` command line: serve, tokens create/list/revoke, stats, consume (MQTT uplink).

Global options come before the subcommand: `ingest --var-dir DIR tokens create --gateway ID`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.settings import Settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ingest", description="Cloud ingest service")
    p.add_argument(
        "--var-dir", type=Path, help="where embedded files live (default ./var or $INGEST_VAR_DIR)"
    )
    p.add_argument("--tokens-db", type=Path, help="token database (default VAR_DIR/tokens.sqlite3)")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API (gunicorn when --workers > 0)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    _store_args(serve)
    serve.add_argument(
        "--mqtt", default="", help="mqtt://HOST:PORT for notifications (and --consume)"
    )
    serve.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    serve.add_argument("--max-compressed", type=int, help="bytes (default 16 MiB)")
    serve.add_argument("--max-decompressed", type=int, help="bytes (default 256 MiB)")
    serve.add_argument("--rate-limit", type=float, help="requests/s per token and worker; 0 = off")
    serve.add_argument("--rate-burst", type=float, help="requests a token may send at once")
    serve.add_argument(
        "--body-timeout",
        type=float,
        help="seconds a batch body may go without a byte before a 408 (default 5; 0 = wait)",
    )

    tokens = sub.add_parser("tokens", help="manage bearer tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True)
    create = tsub.add_parser("create", help="create a token; prints it as the last line")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--gateway", help="gateway id this token may post batches for")
    who.add_argument("--app", help="name of a read-only app token")
    create.add_argument("--db", type=Path, help="token database (same as the global --tokens-db)")
    lst = tsub.add_parser("list", help="list tokens (never their secrets)")
    lst.add_argument("--db", type=Path)
    revoke = tsub.add_parser("revoke", help="revoke a token by its id (the part after gw_/app_)")
    revoke.add_argument("token_id")
    revoke.add_argument("--db", type=Path)

    stats = sub.add_parser("stats", help="print what the store and feed hold, as JSON")
    _store_args(stats)

    consume = sub.add_parser("consume", help="run the MQTT uplink consumer")
    _store_args(consume)
    consume.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    return p


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        default="",
        help="sqlite:///PATH (default) or influxdb://HOST:PORT/BUCKET?org=&token=",
    )
    p.add_argument(
        "--feed", default="", help="sqlite:///PATH (default), postgresql://… or supabase://…"
    )


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings() if args.var_dir is None else Settings(var_dir=args.var_dir)
    kwargs: dict = {}
    for name in ("store", "feed"):
        if getattr(args, name, ""):
            kwargs[f"{name}_url"] = getattr(args, name)
    if getattr(args, "mqtt", ""):
        kwargs["mqtt_url"] = args.mqtt
    tokens_db = getattr(args, "db", None) or args.tokens_db
    if tokens_db:
        kwargs["tokens_db"] = tokens_db
    for name in ("max_compressed", "max_decompressed"):
        if getattr(args, name, None):
            kwargs[name] = getattr(args, name)
    for name in ("rate_limit", "rate_burst", "body_timeout"):
        if getattr(args, name, None) is not None:
            kwargs[name] = getattr(args, name)
    from dataclasses import replace

    return replace(base, **kwargs).resolved()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    if args.command == "tokens":
        return _tokens(args, settings)
    if args.command == "serve":
        from ingest.server import serve

        return serve(settings, args.host, args.port, workers=args.workers)
    if args.command == "stats":
        from ingest.stats import collect

        print(json.dumps(collect(settings), indent=2, sort_keys=True))
        return 0
    if args.command == "consume":
        from ingest.mqtt_consumer import run_consumer

        return run_consumer(settings)
    return 2


def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.auth import TokenStore

    assert settings.tokens_db is not None
    settings.tokens_db.parent.mkdir(parents=True, exist_ok=True)
    store = TokenStore(settings.tokens_db)
    if args.tokens_command == "create":
        kind, subject = ("gateway", args.gateway) if args.gateway else ("app", args.app)
        token = store.create(kind, subject)
        print(f"# {kind} token for {subject!r} (shown once; stored hashed in {settings.tokens_db})")
        print(token)
        return 0
    if args.tokens_command == "list":
        for row in store.list():
            state = "revoked" if row["revoked"] else "active"
            print(f"{row['token_id']}\t{row['kind']}\t{row['subject']}\t{state}")
        return 0
    if args.tokens_command == "revoke":
        if store.revoke(args.token_id):
            print(f"revoked {args.token_id}")
            return 0
        print(f"no active token with id {args.token_id!r}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
