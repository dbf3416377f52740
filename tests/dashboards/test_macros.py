import pytest

from dashboards.macros import (
    MacroError,
    QueryContext,
    Variable,
    auto_interval_ms,
    expand,
    regex_escape,
    round_interval,
)

HOUR = 3_600_000


def test_time_filter_and_range_macros():
    ctx = QueryContext(from_ms=1_000_000, to_ms=1_000_000 + HOUR)
    query = "SELECT x FROM m WHERE $timeFilter AND $__timeFilter -- $__range $__range_ms $__from"
    assert expand(query, ctx) == (
        "SELECT x FROM m WHERE time >= 1000000ms and time <= 4600000ms AND "
        "time >= 1000000ms and time <= 4600000ms -- 3600s 3600000 1000000"
    )


@pytest.mark.parametrize(
    ("range_ms", "points", "minimum", "expected_ms"),
    [
        (HOUR, 1000, None, 5_000),  # 3.6 s raw → 5 s
        (HOUR, 1000, "10s", 10_000),  # datasource timeInterval wins
        (24 * HOUR, 1000, "5s", 60_000),  # 86.4 s → 1 m
        (7 * 24 * HOUR, 1000, None, 600_000),  # 604.8 s → 10 m
        (6 * HOUR, 1000, None, 20_000),  # 21.6 s → 20 s
    ],
)
def test_auto_interval_rounds_like_grafana(range_ms, points, minimum, expected_ms):
    assert auto_interval_ms(range_ms, points, minimum) == expected_ms


def test_interval_macros_render_duration_and_ms():
    ctx = QueryContext(from_ms=0, to_ms=24 * HOUR, min_interval="5s")
    assert expand("GROUP BY time($__interval) -- $__interval_ms", ctx) == (
        "GROUP BY time(1m) -- 60000"
    )


def test_round_interval_is_monotonic():
    values = [round_interval(ms) for ms in range(1, 10_000_000, 997)]
    assert values == sorted(values)


def test_multi_value_variable_renders_escaped_regex_group():
    node = Variable("node", ("rice-01", "a.b"), multi=True, include_all=True)
    ctx = QueryContext(0, HOUR, variables={"node": node})
    assert expand('"node" =~ /^$node$/', ctx) == '"node" =~ /^(rice-01|a\\.b)$/'
    assert expand('"node" =~ /^${node}$/ [[node]]', ctx).startswith('"node" =~ /^(rice-01|a\\.b)$/')


def test_single_value_variable():
    ctx = QueryContext(0, HOUR, variables={"gw": Variable("gw", ("gw/1",))})
    assert expand("$gw ${gw:regex}", ctx) == "gw/1 gw\\/1"
    selected_one = Variable("gw", ("gw.1",), multi=True)
    assert expand("$gw", QueryContext(0, HOUR, variables={"gw": selected_one})) == "gw\\.1"


def test_unknown_variable_is_an_error_naming_it():
    with pytest.raises(MacroError, match=r"\$nodes"):
        expand("WHERE node =~ /^$nodes$/", QueryContext(0, HOUR))


def test_regex_escape_covers_grafana_specials():
    assert regex_escape("a+b(c)|d/e") == "a\\+b\\(c\\)\\|d\\/e"
