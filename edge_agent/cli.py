"""`edge-agent` command line: run, probe, status, config check."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from edge_agent import config as cfg
from edge_agent import logsetup, memory

DEFAULT_CONFIG = "/etc/edge-agent/config.toml"


def _add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config file (flags below override it)")
    p.add_argument("--gateway-id", help="gateway id sent with every reading")
    p.add_argument(
        "--serial",
        action="append",
        metavar="PATH",
        help="serial port to read (repeatable; use /dev/serial/by-id/... paths)",
    )
    p.add_argument(
        "--http-listen",
        metavar="HOST:PORT",
        help="serve POST /sensors, the status page and /metrics here",
    )
    p.add_argument("--ingest-url", metavar="URL", help="ingest service base URL")
    p.add_argument("--token", help="gateway token for the ingest")
    p.add_argument("--state-dir", metavar="DIR", help="where the durable buffer lives")
    p.add_argument(
        "--batch-interval",
        type=float,
        metavar="SECONDS",
        help="seconds between batches (default 600)",
    )
    p.add_argument("--codec", choices=cfg.CODECS, help="batch compression (default gzip)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-agent", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_overrides(sub.add_parser("run", help="run the gateway daemon"))
    st = sub.add_parser("status", help="counters, buffer and nodes from the state directory")
    st.add_argument("--state-dir", help="state directory (default: from --config)")
    st.add_argument("--config", help="config file to take the state directory from")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.add_argument("--transfers", type=int, default=20, help="transfer log entries to show")
    cc = sub.add_parser("config", help="configuration tools")
    ccsub = cc.add_subparsers(dest="config_command", required=True)
    check = ccsub.add_parser("check", help="validate a config file (and flags); exit 2 if bad")
    _add_overrides(check)
    # `probe` is edge_agent.probe's own parser (the firmware engineer's tool); main() hands
    # it the rest of the command line, this entry only lists it in --help.
    sub.add_parser("probe", help="print the decoded frames a node sends (see probe --help)")
    return parser


def _load(args: argparse.Namespace) -> cfg.Config:
    config = cfg.load(args.config)
    flags: dict[str, Any] = {k: getattr(args, k, None) for k in cfg.OVERRIDES}
    return cfg.validate(cfg.apply_overrides(config, flags))


def cmd_run(args: argparse.Namespace) -> int:
    # Catch SIGTERM/SIGINT before the (slow) imports and set-up, so a stop that arrives
    # while starting is a clean stop too.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    memory.pin_mmap_threshold()  # before the imports and buffers it concerns
    from edge_agent.daemon import Agent

    config = _load(args)
    logsetup.setup(config.agent.log_level)
    agent = Agent(config, interval_from_flag=args.batch_interval is not None, stop=stop)
    return agent.run()


def cmd_status(args: argparse.Namespace) -> int:
    from edge_agent import status

    state_dir = args.state_dir
    if state_dir is None:
        state_dir = cfg.load(args.config or DEFAULT_CONFIG).agent.state_dir
    try:
        data = status.collect(state_dir, args.transfers)
    except status.NoState as exc:
        print(f"edge-agent status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(status.render_text(data))
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    config = _load(args)
    print(
        f"config OK: gateway {config.agent.gateway_id}, {len(config.serial.ports)} serial "
        f"port(s), uplink {config.uplink.transport} codec {config.uplink.codec}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe"]:
        from edge_agent import probe

        return int(probe.main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "status":
            return cmd_status(args)
        return cmd_config_check(args)
    except cfg.ConfigError as exc:
        print(f"edge-agent: config error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
