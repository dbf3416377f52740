"""Notification rules (pure) and their delivery to the feed through the app."""

from __future__ import annotations

import pytest

from ingest import fastwire
from ingest.notify import rules
from ingest.notify.bands import optimal_bands
from tests.ingest.conftest import Env, build_env, make_readings

ORCHID = optimal_bands("orchid")


def readings(n: int, start_seq: int = 0, **kwargs) -> list[fastwire.Reading]:
    return [fastwire.from_dict(r) for r in make_readings(n, start_seq=start_seq, **kwargs)]


def with_values(reading: fastwire.Reading, label: str | None = None, **values: float):
    new = fastwire.from_dict({**reading.as_dict(), "values": {**reading.values, **values}})
    if label is not None:
        new.label = label
    return new


def run(state: rules.NodeState, items, policy: rules.Policy | None = None):
    out = []
    for item in items:
        out += rules.evaluate(state, item, ORCHID, policy or rules.Policy())
    return out


def test_orchid_fallback_bands_are_the_papers_examples() -> None:
    assert ORCHID["temperature"][1] == 30.0
    assert ORCHID["humidity"][0] == 60.0


def test_hot_reading_raises_once_then_hysteresis_holds_it() -> None:
    base = readings(6)
    temps = [29.0, 31.0, 30.2, 29.8, 31.5, 29.0]  # 29.8 is inside the deadband: still raised
    items = [with_values(r, temperature=t) for r, t in zip(base, temps, strict=True)]
    notes = run(rules.NodeState(), items)
    assert [n.kind for n in notes] == ["out_of_band"]
    assert "above 30" in notes[0].message and notes[0].value == 31.0


def test_cleared_alarm_raises_again_only_after_cooldown() -> None:
    policy = rules.Policy(cooldown_s=60)
    base = readings(8, every=20.0)
    temps = [31.0, 29.0, 31.0, 29.0, 29.0, 29.0, 29.0, 31.0]
    items = [with_values(r, temperature=t) for r, t in zip(base, temps, strict=True)]
    notes = run(rules.NodeState(), items, policy)
    # t=0 raised; t=40 within the 60 s cooldown → suppressed; t=140 → raised again
    assert [n.ts for n in notes] == [items[0].ts, items[7].ts]


def test_dry_air_below_60_percent_is_reported() -> None:
    notes = run(rules.NodeState(), [with_values(readings(1)[0], humidity=55.0)])
    assert len(notes) == 1 and "humidity 55 %RH below 60 %RH" in notes[0].message


def test_label_drop_needs_good_streak_to_clear() -> None:
    labels = ["optimal", "buruk", "sedang", "buruk", "sedang", "sedang", "sedang", "sangat_buruk"]
    items = [with_values(r, label=lab) for r, lab in zip(readings(8), labels, strict=True)]
    notes = run(rules.NodeState(), items, rules.Policy(cooldown_s=0))
    assert [(n.kind, n.severity) for n in notes] == [
        ("label_drop", "warning"),
        ("label_drop", "critical"),
    ]


def test_late_readings_do_not_rewrite_history() -> None:
    state = rules.NodeState()
    later, earlier = readings(2, start_seq=10)[1], readings(1)[0]
    run(state, [later])
    assert run(state, [with_values(earlier, temperature=40.0)]) == []


def test_silent_node_is_reported_once() -> None:
    state = rules.NodeState()
    run(state, readings(5, every=60.0))
    last = state.last_ts
    assert rules.check_silent("orchid-01", state, last + 120) is None  # 2 intervals: fine
    note = rules.check_silent("orchid-01", state, last + 200)
    assert note is not None and note.kind == "silent" and note.severity == "critical"
    assert rules.check_silent("orchid-01", state, last + 400) is None  # once per silence


def test_batches_raise_notifications_into_the_feed_once(env: Env) -> None:
    items = make_readings(5, temperature=33.0)
    assert env.post(items).json["accepted"] == 5
    assert env.post(items).json["duplicates"] == 5  # resend: nothing new, nothing raised
    page = env.get("/v1/notifications").json
    assert [n["kind"] for n in page["notifications"]] == ["out_of_band"]
    assert page["notifications"][0]["node_id"] == "orchid-01"
    follow = env.get(f"/v1/notifications?after={page['next']}").json
    assert follow["notifications"] == []
    more = make_readings(3, start_seq=100, start=1746857410.0 + 4000, humidity=40.0)
    env.post(more)
    newer = env.get(f"/v1/notifications?after={page['next']}").json["notifications"]
    assert [n["message"] for n in newer] == ["orchid-01: humidity 40 %RH below 60 %RH"]


def test_sweep_reports_silent_nodes_into_the_feed(tmp_path) -> None:
    env = build_env(tmp_path / "var", silent_sweep_s=0)
    env.post(make_readings(5, every=60.0))
    notifier = env.app.extensions["ingest"].notifier
    assert notifier.sweep(now=1746857410.0 + 4 * 60 + 100) == []
    notes = notifier.sweep(now=1746857410.0 + 4 * 60 + 1000)
    assert [n.kind for n in notes] == ["silent"]
    assert env.get("/v1/notifications").json["notifications"][0]["kind"] == "silent"


def test_fast_path_raises_the_same_notifications_as_one_by_one() -> None:
    import random

    rng = random.Random(3)
    items = []
    for r in readings(400, every=30.0):
        label = rng.choice(["optimal", "sedang", "sedang", "buruk", "optimal", "sangat_buruk"])
        items.append(with_values(r, label=label if rng.random() < 0.1 else "optimal",
                                 temperature=rng.choice([27.0, 28.0, 29.9, 30.6, 31.0]),
                                 humidity=rng.choice([65.0, 70.0, 59.0, 61.5])))  # fmt: skip
    policy = rules.Policy(cooldown_s=300)
    one_by_one, many = rules.NodeState(), rules.NodeState()
    expected = run(one_by_one, items, policy)
    got = rules.evaluate_many(many, items, ORCHID, policy)
    assert [(n.ts, n.kind, n.message) for n in got] == [(n.ts, n.kind, n.message) for n in expected]
    assert len(expected) > 5
    assert many.last_ts == one_by_one.last_ts
    assert many.active == one_by_one.active
    assert many.interval_s == pytest.approx(30.0, rel=0.01)


@pytest.mark.parametrize("seed", range(6))
def test_fast_path_matches_one_by_one_through_long_alarms(seed: int) -> None:
    """Long spells with alarms raised (the fast path's steady runs under active alarms),
    label drops, values missing, and flapping around the deadbands."""
    import random

    rng = random.Random(seed)
    items = []
    temperature, label = 27.0, "optimal"
    for i, r in enumerate(readings(3000, every=5.0)):
        if i % 250 == 0:  # a new regime: calm, hot spell, flapping near the band edge
            regime = rng.choice(["calm", "hot", "flap", "bad_label"])
        if regime == "hot":
            temperature = rng.uniform(30.5, 33.0)
        elif regime == "flap":
            temperature = rng.choice([29.4, 29.6, 30.1, 30.4])
        else:
            temperature = rng.uniform(25.0, 29.0)
        label = (
            rng.choice(["buruk", "sangat_buruk", "buruk", "optimal"])
            if regime == "bad_label"
            else "optimal"
        )
        item = with_values(r, label=label, temperature=round(temperature, 1))
        if rng.random() < 0.05:
            item.values.pop("humidity")
        if rng.random() < 0.05:
            item.label = None
        items.append(item)
    policy = rules.Policy(cooldown_s=rng.choice([0.0, 60.0, 600.0]))
    one_by_one, many = rules.NodeState(), rules.NodeState()
    expected = run(one_by_one, items, policy)
    got = rules.evaluate_many(many, items, ORCHID, policy)
    assert [(n.ts, n.kind, n.message) for n in got] == [(n.ts, n.kind, n.message) for n in expected]
    assert len(expected) > 3
    assert (many.last_ts, many.active, many.good_streak, many.last_raised) == (
        one_by_one.last_ts,
        one_by_one.active,
        one_by_one.good_streak,
        one_by_one.last_raised,
    )
    assert many.interval_s == pytest.approx(5.0, rel=0.01)


def test_bands_come_from_the_fuzzy_profile_when_it_has_one() -> None:
    from fuzzy import load_profile

    fuzzy_bands = dict(load_profile("orchid").optimal_bands)
    expected = {k: tuple(v) for k, v in fuzzy_bands.items() if k != "light"}
    assert optimal_bands("orchid") == expected
    assert optimal_bands("no-such-profile") == {}
