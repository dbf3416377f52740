"""Transfer time through the real ingest service, split as the paper did.

For each data set and wire encoding a fresh ingest service (its own var dir, so every run
stores every reading, like the paper's merge into HDFS) is started on a free 127.0.0.1 port;
the dump is compressed here and POSTed to /v1/batches. The service's ``Server-Timing``
header gives decompress / parse / write; the send time over each emulated link is computed
from the bytes (bandwidth only, no latency model). The telemetry encoding is not a wire
encoding: its row is modelled (decode measured here, parse/write from the identity run).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tqdm import tqdm

from compression_bench import codecs as cb
from compression_bench import datasets as ds
from compression_bench.choice import LINKS_BIT_S
from compression_bench.measure import best_time

WIRE_CODECS = ["identity", "gzip-6", "bzip2-9", "zstd-3"]
MODELLED = ["tlm-xz-9"]
INGEST = [sys.executable, "-m", "ingest.cli"]  # the `ingest` command, whatever the install


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IngestService:
    """`ingest serve` in a subprocess with its own var dir and one gateway token."""

    def __init__(self, gateway_id: str, limit_bytes: int) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="bench-ingest-")
        var = ["--var-dir", self.dir.name]
        out = subprocess.run(
            [*INGEST, *var, "tokens", "create", "--gateway", gateway_id],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        self.token = out.stdout.strip().splitlines()[-1]
        self.port = free_port()
        self.log = open(Path(self.dir.name) / "serve.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*INGEST, *var, "serve", "--port", str(self.port),
             "--max-compressed", str(limit_bytes), "--max-decompressed", str(limit_bytes)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ingest serve exited: {self.read_log()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("ingest serve did not answer /healthz within 60 s")

    def read_log(self) -> str:
        return (Path(self.dir.name) / "serve.log").read_text(errors="replace")[-2000:]

    def post(self, body: bytes, encoding: str, content_type: str) -> tuple[dict, dict, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": content_type,
            "Content-Encoding": encoding,
            "Idempotency-Key": str(uuid.uuid4()),
        }
        t0 = time.perf_counter()
        conn.request("POST", "/v1/batches", body=body, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        wall = time.perf_counter() - t0
        if resp.status != 200:
            raise RuntimeError(f"ingest answered {resp.status}: {payload[:500]!r}")
        timing = {}
        for part in resp.headers.get("Server-Timing", "").split(","):
            name, _, dur = part.strip().partition(";dur=")
            if dur:
                timing[name] = float(dur) / 1000
        return json.loads(payload), timing, wall

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.dir.cleanup()


def _gateway_of(dataset: ds.DataSet) -> str:
    if dataset.kind == "gateway-ndjson":
        return json.loads(dataset.data.split(b"\n", 1)[0])["gateway_id"]
    second_line = dataset.data.split(b"\n", 2)[1].decode()
    return second_line.split(",")[2].strip('"')


def transfer_one(dataset: ds.DataSet, name: str) -> dict:
    codec = cb.make(name)
    compress_s, body = best_time(lambda: codec.compress(dataset.data), 1)
    ctype = "application/x-ndjson" if dataset.kind == "gateway-ndjson" else "text/csv"
    service = IngestService(_gateway_of(dataset), 2 * len(dataset.data) + (1 << 20))
    try:
        result, timing, wall = service.post(body, codec.wire_encoding or "", ctype)
    finally:
        service.close()
    return {
        "data_set": dataset.name,
        "codec": name,
        "wire_encoding": codec.wire_encoding,
        "bytes": len(body),
        "compress_s": compress_s,
        "decompress_s": timing.get("decompress", 0.0),
        "parse_s": timing.get("parse", 0.0),
        "write_s": timing.get("write", 0.0),
        "post_wall_s": wall,
        "accepted": result["accepted"],
        "rejected": len(result["rejected"]),
        "duplicates": result["duplicates"],
    }


def modelled(dataset: ds.DataSet, name: str, identity: dict) -> dict:
    codec = cb.make(name)
    compress_s, blob = best_time(lambda: codec.compress(dataset.data), 1)
    decode_s, _ = best_time(lambda: codec.decompress(blob), 1)
    return identity | {
        "codec": f"{name} (modelled)",
        "wire_encoding": None,
        "bytes": len(blob),
        "compress_s": compress_s,
        "decompress_s": decode_s,
        "post_wall_s": None,
    }


def run_transfers(sets: list[ds.DataSet], codecs: list[str], progress: bool = True) -> dict:
    runs: list[dict] = []
    plan = [(s, c) for s in sets for c in codecs]
    for dataset, name in tqdm(plan, desc="transfer", unit="post", disable=not progress):
        if name in MODELLED:
            identity = next(r for r in runs if r["data_set"] == dataset.name and
                            r["codec"] == "identity")  # fmt: skip
            base = modelled(dataset, name, identity)
        else:
            base = transfer_one(dataset, name)
        for link, bits in LINKS_BIT_S.items():
            send = base["bytes"] * 8 / bits
            total = send + base["decompress_s"] + base["parse_s"] + base["write_s"]
            runs.append(base | {"link": link, "send_s": send, "total_s": total})
    return {
        "status": "measured through the ingest service (Server-Timing); send time = bytes / link",
        "links_bit_s": LINKS_BIT_S,
        "runs": runs,
    }


def add_transfer(
    doc: dict,
    out: Path,
    rows: int,
    dups: list[int],
    codecs: str,
    input_path: Path | None = None,
    progress: bool = True,
    with_gateway: bool = True,
) -> dict:
    """Run the transfers for the given data sets and merge them into results.json (runs of
    the same data set and codec are replaced)."""
    if input_path is not None:
        raise ValueError("--transfer works on the generated data sets, not --input")
    names = WIRE_CODECS + MODELLED if codecs in ("", "default") else cb.expand(codecs)
    if "identity" not in names:
        names.insert(0, "identity")
    sets = ds.paper_sets(rows, dups) + ([ds.gateway_set(rows)] if with_gateway else [])
    new = run_transfers(sets, names, progress)
    done = {(r["data_set"], r["codec"]) for r in new["runs"]}
    old = [r for r in (doc.get("transfer") or {}).get("runs", [])
           if (r["data_set"], r["codec"]) not in done]  # fmt: skip
    doc["transfer"] = new | {"runs": old + new["runs"]}
    (out / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    return doc
