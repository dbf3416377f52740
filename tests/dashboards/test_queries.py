"""Every panel's InfluxQL, with Grafana's macros and variables expanded, runs on a real
InfluxDB 1.6.7 holding data written by the ingest's own line-protocol encoder, and returns
series. Also: the provisioned datasource's request (db + Authorization header) works there."""

import json
import re
import urllib.parse
import urllib.request

import pytest
import yaml

from dashboards.__main__ import OUT_DIR
from dashboards.catalog import DASHBOARDS
from dashboards.macros import QueryContext, Variable, expand
from dashboards.queries import panel_queries, variable_queries
from tests.dashboards.fleet_data import DATABASE, FLEET, MINUTES

pytestmark = pytest.mark.integration
HOUR = 3_600_000
DATASOURCE_YAML = OUT_DIR.parent / "provisioning" / "datasources" / "influxdb.yaml"


def grafana_env_expand(value, env: dict[str, str]):
    """Grafana's provisioning expands $VAR and ${VAR} in the parsed YAML's string values."""
    if isinstance(value, dict):
        return {k: grafana_env_expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [grafana_env_expand(v, env) for v in value]
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env[m.group(1) or m.group(2)], value)
    return value


def influxql(url: str, query: str) -> dict:
    """GET /query as the provisioned datasource does (its httpMode, db, Token header)."""

    env = {"INFLUX_URL": url, "INFLUX_DB": DATABASE, "INFLUX_TOKEN": ""}
    source = grafana_env_expand(yaml.safe_load(DATASOURCE_YAML.read_text()), env)
    (ds,) = source["datasources"]
    headers = {ds["jsonData"]["httpHeaderName1"]: ds["secureJsonData"]["httpHeaderValue1"]}
    assert ds["jsonData"]["httpMode"] == "GET"
    params = urllib.parse.urlencode({"db": ds["jsonData"]["dbName"], "q": query, "epoch": "ms"})
    request = urllib.request.Request(f"{ds['url']}/query?{params}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    (result,) = json.loads(body)["results"]
    assert "error" not in result, f"{query}\n→ {result['error']}"
    return result


def resolve_variables(url: str, dashboard: dict, ctx: QueryContext, pick_first: bool) -> dict:
    """Run each variable's query (deduplicated and sorted, as Grafana does) and select all its
    values, or only the first."""
    selected: dict[str, Variable] = {}
    for name, query in variable_queries(dashboard):
        context = QueryContext(ctx.from_ms, ctx.to_ms, variables=selected, min_interval="5s")
        result = influxql(url, expand(query, context))
        values = sorted({row[1] for s in result.get("series", []) for row in s["values"]})
        assert values, f"variable {name} has no values: {query}"
        chosen = tuple(values[:1]) if pick_first else tuple(values)
        selected[name] = Variable(name, chosen, multi=True, include_all=True)
    return selected


def context(fleet_influx, dashboard, pick_first=False) -> QueryContext:
    url, now_ms = fleet_influx
    base = QueryContext(now_ms - HOUR, now_ms + 1_000, min_interval="5s")
    variables = resolve_variables(url, dashboard, base, pick_first)
    return QueryContext(base.from_ms, base.to_ms, min_interval="5s", variables=variables)


def dashboard_json(name: str) -> dict:
    return json.loads((OUT_DIR / f"{name}.json").read_text())


CASES = [
    pytest.param(name, pq, id=f"{name}:{pq.panel}:{pq.ref_id}")
    for name in sorted(DASHBOARDS)
    for pq in panel_queries(dashboard_json(name))
]


@pytest.mark.parametrize(("name", "pq"), CASES)
def test_panel_query_returns_series(fleet_influx, name, pq):
    ctx = context(fleet_influx, dashboard_json(name))
    query = expand(pq.query, ctx)
    assert "$" not in query.replace("$/", "")
    result = influxql(fleet_influx[0], query)
    series = result.get("series", [])
    assert series, f"no series for {pq.panel}: {query}"
    values = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
    assert values, f"only nulls for {pq.panel}: {query}"


def totals(fleet_influx, name: str, ctx: QueryContext) -> dict[str, float]:
    """Each stat panel's number, reduced as Grafana does (sum over series when merged)."""
    out = {}
    for panel in dashboard_json(name)["panels"]:
        if panel["type"] != "stat":
            continue
        result = influxql(fleet_influx[0], expand(panel["targets"][0]["query"], ctx))
        out[panel["title"]] = sum(row[1] for s in result["series"] for row in s["values"])
    return out


def test_fleet_overview_numbers_match_the_loaded_fleet(fleet_influx):
    got = totals(
        fleet_influx, "fleet-overview", context(fleet_influx, dashboard_json("fleet-overview"))
    )
    assert got["Gateways shipping"] == len(FLEET)
    assert got["Nodes reporting"] == sum(len(nodes) for nodes in FLEET.values())
    assert got["Readings stored"] == MINUTES * sum(len(nodes) for nodes in FLEET.values())
    assert got["Alerts"] == 3 and got["Critical alerts"] == 1


def test_gateway_variable_filters_the_panels(fleet_influx):
    dashboard = dashboard_json("fleet-overview")
    ctx = context(fleet_influx, dashboard, pick_first=True)
    (gateway,) = ctx.variables["gateway"].values
    (nodes_panel,) = [p for p in dashboard["panels"] if p["title"] == "Nodes last seen"]
    result = influxql(fleet_influx[0], expand(nodes_panel["targets"][0]["query"], ctx))
    assert {s["tags"]["gateway"] for s in result["series"]} == {gateway}


def test_node_variable_follows_the_gateway(fleet_influx):
    ctx = context(fleet_influx, dashboard_json("node-detail"), pick_first=True)
    (gateway,) = ctx.variables["gateway"].values
    assert ctx.variables["node"].values[0] in {node for node, _ in FLEET[gateway]}


def test_uplink_space_saving_is_computed_from_the_batches(fleet_influx):
    ctx = context(fleet_influx, dashboard_json("uplink-compression"))
    saving = totals(fleet_influx, "uplink-compression", ctx)["Space saving"]
    assert 80 < saving < 87  # the fleet ships gzip/bzip2/zstd at the paper's ratios
