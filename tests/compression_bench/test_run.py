import json
import subprocess
import sys
from pathlib import Path

import pytest

from compression_bench import batches, codecs, generator
from compression_bench.choose import derive_table
from compression_bench.measure import measure


def test_measure_catches_a_lossy_codec() -> None:
    data = generator.paper_csv(generator.generate(300))
    lossy = codecs.Codec("drops-a-row", lambda d: d[: d.rfind(b"\n", 0, -1) + 1], bytes, None)
    assert measure(lossy, data)["lossless"] is False
    good = measure(codecs.make("tlm-zstd-3"), data)
    assert good["lossless"] and good["bytes_identical"]
    assert good["compress_peak_mib"] >= 0 and good["ratio"] > 5


def test_unknown_codec_names_are_named() -> None:
    with pytest.raises(ValueError, match="unknown codec 'lz4-1'"):
        codecs.make("lz4-1")
    with pytest.raises(ValueError, match=r"levels run 1\.\.9"):
        codecs.make("gzip-12")
    with pytest.raises(ValueError, match="training"):
        codecs.make("zstd-dict-3")
    assert codecs.expand("paper,gzip-6,tlm-xz-9") == ["gzip-6", "bzip2-9", "tlm-xz-9"]


def test_batches_are_whole_lines_within_size() -> None:
    data = generator.gateway_ndjson(generator.generate(200))
    parts = batches.split_batches(data, 4096)
    assert b"".join(parts) == data
    assert all(len(p) <= 4096 and p.endswith(b"\n") for p in parts)


def _entry(enc: str, level: int, size: float, comp_s: float, dec_s: float) -> dict:
    return {
        "wire_encoding": enc, "level": level, "compressed_bytes_per_batch": size,
        "compress_s_per_batch": comp_s, "decompress_s_per_batch": dec_s,
    }  # fmt: skip


def test_choice_table_trades_bytes_for_cpu_by_link() -> None:
    measured = {
        str(s): {
            "xz-9": _entry("xz", 9, s / 20, s / 2e6, s / 5e7),
            "zstd-1": _entry("zstd", 1, s / 8, s / 4e8, s / 1e9),
            "identity": _entry("identity", None, s, 0.0, 0.0),
        }
        for s in (1024, 65536)
    }
    table = derive_table(measured)
    assert table["links"]["gprs"] == [[None, "xz", 9]]
    assert table["links"]["lan"] == [[None, "zstd", 1]]
    assert not table["provisional"]


@pytest.mark.slow
def test_cli_run_writes_results_report_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "compression_bench", "run", "--rows", "600", "--dup", "1,2",
           "--codecs", "paper,tlm-zstd-3,zstd-dict-3", "--no-batches", "--quiet",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    for name in ("paper-1x", "paper-2x", "gateway-1x"):
        for codec in ("gzip-6", "bzip2-9", "tlm-zstd-3", "zstd-dict-3"):
            r = doc["datasets"][name]["codecs"][codec]
            assert {"ratio", "saving", "compress_mb_s", "decompress_mb_s"} <= r.keys()
            assert r["lossless"], (name, codec)
    assert "target1" in doc["targets"] and "target2" in doc["targets"]
    assert (out / "report.md").read_text().count("|") > 50
    assert (out / "ratio_vs_speed_paper-1x.png").stat().st_size > 10_000
    assert "paper-1x" in proc.stdout


def test_cli_refuses_a_missing_input_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "compression_bench", "run", "--input", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0 and "no such file" in proc.stderr


def test_cli_runs_on_a_user_file(tmp_path: Path) -> None:
    src = tmp_path / "mine.csv"
    src.write_text("t,v\n2025-01-01 00:00:00,1.5\n2025-01-01 00:00:05,1.75\n" * 50)
    out = tmp_path / "o"
    proc = subprocess.run(
        [sys.executable, "-m", "compression_bench", "run", "--input", str(src), "--codecs",
         "paper,tlm-xz-9,zstd-dict-3", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert doc["datasets"]["input:mine.csv"]["codecs"]["tlm-xz-9"]["lossless"]
