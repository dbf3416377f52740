"""`python -m fuzzy score | check | bench` as other components call it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzzy.shared_data import fuzzylite_dir


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fuzzy", *args], capture_output=True, text=True, timeout=120
    )


def test_score_writes_inputs_outputs_and_labels(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "node,temperature,humidity,light\na,27.73,64.57,302.691\nb,,64.57,302.691\nc,-5,-1,0\n"
    )
    done = run("score", "--profile", "orchid", str(source))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["node", "temperature", "humidity", "light", "growth_score", "growth_label"]
    assert rows[1][:4] == ["a", "27.73", "64.57", "302.691"]
    assert float(rows[1][4]) == pytest.approx(84.7348, abs=1e-3) and rows[1][5] == "optimal"
    assert rows[2][4:] == ["nan", ""]
    assert float(rows[3][4]) == pytest.approx(62.5) and rows[3][5] == "sedang"
    assert "1 row(s)" in done.stderr


def test_score_flags_column_and_fll_profile(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("service,food\n5,5\n0,NA\n")
    engine = fuzzylite_dir() / "tipper.fll"
    done = run("score", "--profile", str(engine), "--flags", str(source))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["service", "food", "tip", "flags"]  # tipper defines no labels
    assert rows[2][-1] == "nan_input:food"


def test_score_missing_column_names_expected_variables(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("temperature,humidity\n1,2\n")
    done = run("score", "--profile", "orchid", str(source))
    assert done.returncode == 2
    assert "missing column(s) light" in done.stderr
    assert "expects: temperature, humidity, light" in done.stderr


def test_score_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    done = run("score", "--profile", "tulip", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and "neither a built-in profile" in done.stderr


def test_check_passes_within_tolerance_and_fails_above(tmp_path: Path) -> None:
    folder = fuzzylite_dir()
    ok = run("check", "--engine", str(folder / "tank.fis"), "--fld", str(folder / "tank.fld"))
    assert ok.returncode == 0, ok.stderr
    assert float(ok.stdout.strip()) <= 1e-3
    lines = (folder / "tank.fld").read_text().splitlines()
    fields = lines[5].split()
    fields[-1] = str(float(fields[-1]) + 0.01)  # one output off by 0.01
    lines[5] = " ".join(fields)
    tampered = tmp_path / "tank.fld"
    tampered.write_text("\n".join(lines) + "\n")
    bad = run("check", "--engine", str(folder / "tank.fll"), "--fld", str(tampered))
    assert bad.returncode == 1
    assert float(bad.stdout.strip()) == pytest.approx(0.01, abs=1e-6)


def test_check_reports_malformed_engine_with_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.fll"
    text = (fuzzylite_dir() / "tipper.fll").read_text().replace("Triangle 0.000", "Triangle x", 1)
    broken.write_text(text)
    done = run("check", "--engine", str(broken), "--fld", str(fuzzylite_dir() / "tipper.fld"))
    assert done.returncode == 2
    assert "broken.fll:23:" in done.stderr  # the output term "cheap"


def test_bench_prints_json_last_line() -> None:
    done = run("bench", "--profile", "orchid", "--n", "20000", "--skfuzzy-n", "5")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"engine_evals_per_s", "skfuzzy_evals_per_s", "ratio"} <= set(figures)
    assert figures["ratio"] > 1
    assert figures["max_abs_diff_vs_skfuzzy"] < 1e-3
