"""Alert rules: label drops and band exits, with hysteresis and cooldown."""

from __future__ import annotations

from edge_agent.alerts import AlertRules

BANDS = {"temperature": (18.0, 30.0)}


def reading(seq: int, score: float, label: str, temperature: float = 25.0) -> dict:
    return {
        "id": f"r{seq}",
        "ts": "2025-05-10T06:10:10.250Z",
        "gateway_id": "gw",
        "node_id": "orchid-01",
        "profile": "orchid",
        "values": {"temperature": temperature},
        "score": score,
        "label": label,
    }


def kinds(alerts: list[dict]) -> list[tuple[str, str]]:
    return [(a["kind"], a["state"]) for a in alerts]


def test_label_drop_raises_once_escalates_and_clears_with_hysteresis() -> None:
    rules = AlertRules(lambda _p: {}, cooldown_seconds=100, label_hysteresis_points=5)
    assert rules.evaluate(reading(1, 70, "sedang"), 0) == []
    assert kinds(rules.evaluate(reading(2, 45, "buruk"), 1)) == [("label_drop", "raised")]
    assert rules.evaluate(reading(3, 44, "buruk"), 2) == []  # still bad: no repeat
    assert kinds(rules.evaluate(reading(4, 20, "sangat_buruk"), 3)) == [("label_drop", "raised")]
    assert rules.evaluate(reading(5, 52, "sedang"), 4) == []  # inside hysteresis: not cleared
    assert kinds(rules.evaluate(reading(6, 56, "sedang"), 5)) == [("label_drop", "cleared")]
    # a new drop within the cooldown stays quiet, after it raises again
    assert rules.evaluate(reading(7, 40, "buruk"), 50) == []
    assert rules.evaluate(reading(8, 60, "sedang"), 60) == []  # nothing raised: nothing to clear
    assert kinds(rules.evaluate(reading(9, 40, "buruk"), 200)) == [("label_drop", "raised")]


def test_value_out_of_band_with_hysteresis_and_cooldown() -> None:
    rules = AlertRules(lambda _p: BANDS, cooldown_seconds=100, band_hysteresis=0.1)
    assert rules.evaluate(reading(1, 70, "sedang", 25.0), 0) == []
    raised = rules.evaluate(reading(2, 70, "sedang", 31.0), 1)
    assert kinds(raised) == [("out_of_band", "raised")]
    assert raised[0]["variable"] == "temperature" and raised[0]["band"] == [18.0, 30.0]
    assert rules.evaluate(reading(3, 70, "sedang", 32.0), 2) == []
    assert rules.evaluate(reading(4, 70, "sedang", 29.5), 3) == []  # within 10 % margin
    assert kinds(rules.evaluate(reading(5, 70, "sedang", 28.0), 4)) == [("out_of_band", "cleared")]
    assert rules.evaluate(reading(6, 70, "sedang", 31.0), 5) == []  # cooldown
    rules.evaluate(reading(7, 70, "sedang", 25.0), 6)
    assert kinds(rules.evaluate(reading(8, 70, "sedang", 12.0), 150)) == [("out_of_band", "raised")]
