import pytest

from loadtests.__main__ import main
from loadtests.report import PAPER_GATEWAY, Stage, markdown
from loadtests.runner import parse_duration, parse_users


def test_parse_duration():
    assert parse_duration("60s") == 60
    assert parse_duration("5m") == 300
    assert parse_duration("1.5") == 1.5
    with pytest.raises(ValueError, match="'soon'"):
        parse_duration("soon")


def test_parse_users():
    assert parse_users("25,50,75,100") == [25, 50, 75, 100]
    with pytest.raises(ValueError, match="positive"):
        parse_users("0,25")
    with pytest.raises(ValueError, match="integers"):
        parse_users("25,many")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--target", "ingest", "--users", "ten"], "--users 'ten'"),
        (["run", "--target", "ingest", "--duration", "forever"], "duration 'forever'"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_unknown_target_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--target", "cloud"])
    assert "invalid choice: 'cloud'" in capsys.readouterr().err


def stage(users: int, p99: float) -> Stage:
    return Stage(users, 1000, 0, 500.0, 20.0, 10, 40, p99, 300, 30.0, 60.0, 80.0, 3.5)


def test_markdown_puts_the_paper_beside_gateway_stages():
    meta = {"target": "gateway", "user_class": "NoWaitNodeUser", "command": "x", "ncpu": 2,
            "ramp_s": 2, "duration_s": 60}  # fmt: skip
    text = markdown(meta, [stage(100, 85), stage(150, 120)])
    mean, p99, cpu = PAPER_GATEWAY[100]
    ours = "| 100 | 500.0 | 0 | 20.0 | 10 | 40 | 85 | 30.0 (60.0) | 80 | 3.5 |"
    assert f"{ours} {mean} ms | {p99} ms | {cpu} % |" in text
    assert "| 150 |" in text and text.count("| – | – | – |") == 1


def test_markdown_reports_readings_per_second_for_batches():
    meta = {"target": "ingest", "user_class": "GatewayBatchUser", "command": "x", "ncpu": 2,
            "ramp_s": 2, "duration_s": 60, "batch_size": 120}  # fmt: skip
    text = markdown(meta, [stage(1000, 900)])
    assert "readings/s" in text and "| 1000 | 500.0 | 60000 | 0 |" in text
    assert "paper" not in text


def test_missing_server_binary_is_named(monkeypatch, tmp_path):
    from loadtests import sut

    monkeypatch.setattr(sut.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="edge-agent not found"):
        sut._bin("edge-agent")
