"""`edge-agent probe`: decoded readings as JSON lines; bad serial input counted, never fatal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent import frames, probe


def reading(seq: int, **values: float) -> bytes:
    values = values or {"temperature": 27.0, "humidity": 65.0}
    return frames.encode(frames.Frame("R", "orchid-01", "1.0.0", 3, seq, values))


HELLO = frames.encode(
    frames.Frame("H", "orchid-01", "1.0.0", 3, 0, info={"k": "orchid", "iv": "1s"})
)


def test_good_frames_decode_and_bad_lines_are_counted_by_reason() -> None:
    state = probe.ProbeState()
    good = reading(1)
    corrupted = good.replace(b"27.0", b"28.0")
    stream = b"".join(
        [
            HELLO,
            good,
            corrupted,  # CRC
            b"\x00\xff\xfe garbage \x80\r\n",  # wrong-baud noise
            good[:30] + b"\r\n",  # truncated
            b"$" + b"9" * 400 + b"\r\n",  # overlong
            b"hello world\n",
            reading(2),
        ]
    )
    got = []
    for i in range(0, len(stream), 7):  # arrives in small pieces
        got += state.feed(stream[i : i + 7])
    assert [f.kind for f in got] == ["H", "R", "R"] and [f.seq for f in got] == [0, 1, 2]
    summary = state.summary()
    assert summary["decoded"] == 3
    assert summary["reasons"] == {
        "bad_crc": 1,
        "not_ascii": 1,
        "no_crc": 1,
        "too_long": 1,
        "no_start": 1,
    }
    assert summary["rejected"] == 5


def test_a_cut_first_line_after_opening_is_not_an_error() -> None:
    state = probe.ProbeState()
    state.reopened()
    got = state.feed(reading(1)[20:] + reading(2))
    assert [f.seq for f in got] == [2]
    assert state.summary()["rejected"] == 0 and state.summary()["partial_first_lines"] == 1


def test_reading_record_has_the_documented_keys() -> None:
    frame = frames.decode(
        frames.encode(
            frames.Frame("R", "rice-01", "1.0.0", 2, 9, {"gas": 3.99, "lat": -8.5}, ("soil_ph",))
        )
    )
    record = probe.reading_record(frame)
    assert record == {
        "node_id": "rice-01",
        "kind": "R",
        "boot": 2,
        "seq": 9,
        "values": {"gas": 3.99, "lat": -8.5},
        "failed": ["soil_ph"],
    }


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from([reading(5), HELLO, b"\r\n", b"\n", b"$", b"*FFFF\r\n"]),
        ),
        max_size=20,
    )
)
def test_any_byte_stream_is_survived_and_good_frames_still_come_through(
    chunks: list[bytes],
) -> None:
    state = probe.ProbeState()
    for chunk in chunks:
        state.feed(chunk)
    # whatever came before, a newline then a good frame decodes
    got = state.feed(b"\n" + reading(77))
    assert [f.seq for f in got] == [77]
    total = state.summary()
    assert total["rejected"] == sum(total["reasons"].values())


class PtyNode:
    """A pty whose slave is symlinked at `link`; the test writes raw bytes as the node."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.ttyname(self.slave))

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        self.link.unlink()
        os.close(self.master)
        os.close(self.slave)


def test_probe_runs_against_a_port_with_bad_input_and_an_unplug(tmp_path: Path) -> None:
    link = tmp_path / "ttyNODE"
    node = PtyNode(link)
    out, err = io.StringIO(), io.StringIO()
    result: list[probe.ProbeState] = []
    thread = threading.Thread(
        target=lambda: result.append(probe.run(str(link), 4.0, out=out, err=err)), daemon=True
    )
    thread.start()
    time.sleep(0.6)  # the probe has opened the port
    node.write(
        HELLO + reading(1) + b"\xf0\x0f\xaa noise\r\n" + reading(2).replace(b"65.0", b"66.0")
    )
    node.write(b"#" * 1000 + b"\n" + reading(3))
    time.sleep(0.5)
    node.unplug()
    time.sleep(0.8)
    node = PtyNode(link)  # plugged back in
    time.sleep(1.0)  # the probe reopens within its retry delay
    node.write(b"\n" + reading(4))
    thread.join(timeout=10)
    assert not thread.is_alive()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    readings, summary = lines[:-1], lines[-1]
    assert [r["seq"] for r in readings] == [1, 3, 4]
    assert summary["decoded"] == 4  # hello included
    assert summary["reasons"] == {"bad_crc": 1, "not_ascii": 1, "too_long": 1}
    assert "hello: orchid-01 firmware 1.0.0 boot 3 k=orchid iv=1s" in err.getvalue()
    assert "reopening" in err.getvalue() or "retrying" in err.getvalue()
    assert result[0].opened >= 2
    node.unplug()


def test_probe_command_line(tmp_path: Path) -> None:
    link = tmp_path / "ttyNODE"
    node = PtyNode(link)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.probe", "--port", str(link), "--seconds", "2.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.2)
    node.write(reading(1) + b"garbage\n" + reading(2))
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    lines = [json.loads(x) for x in stdout.splitlines()]
    assert [r["seq"] for r in lines[:-1]] == [1, 2]
    assert lines[-1]["rejected"] == 1 and lines[-1]["reasons"] == {"no_start": 1}
    node.unplug()


def test_probe_exits_nonzero_when_the_port_never_opens(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge_agent.probe",
            "--port",
            str(tmp_path / "nope"),
            "--seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 1
    assert "cannot open" in proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["decoded"] == 0


@pytest.mark.parametrize("argv", [["--seconds", "1"], ["--port", "x", "--seconds", "0"]])
def test_probe_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        probe.main(argv)
    assert exc.value.code == 2
