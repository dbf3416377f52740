"""Small builders for Grafana dashboard JSON (schemaVersion 39+ panels with InfluxQL targets).

Every panel queries the provisioned InfluxDB datasource (uid `subak-influxdb`) in raw InfluxQL
mode, so the same query text runs on InfluxDB 1.x, 2.x (DBRP mapping) and 3.x.
"""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "influxdb", "uid": "subak-influxdb"}
SCHEMA_VERSION = 39
READING_MEASUREMENTS = "/^(orchid|rice|watering|reading)$/"
NODE_FILTER = '"gateway" =~ /^$gateway$/ AND "node" =~ /^$node$/'
GATEWAY_FILTER = '"gateway" =~ /^$gateway$/'

Json = dict[str, Any]


def target(query: str, ref_id: str = "A", fmt: str = "time_series", alias: str = "") -> Json:
    result: Json = {
        "datasource": DATASOURCE,
        "refId": ref_id,
        "rawQuery": True,
        "resultFormat": fmt,
        "query": query,
    }
    if alias:
        result["alias"] = alias
    return result


def thresholds(*steps: tuple[float | None, str]) -> Json:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


def band_thresholds(low: float, high: float) -> Json:
    """Red below the optimal band, green inside it, red above it."""
    return thresholds((None, "red"), (low, "green"), (high, "red"))


def panel(
    kind: str,
    title: str,
    targets: list[Json],
    grid: tuple[int, int, int, int],
    *,
    description: str = "",
    unit: str = "",
    defaults: Json | None = None,
    options: Json | None = None,
    custom: Json | None = None,
    transformations: list[Json] | None = None,
) -> Json:
    x, y, w, h = grid
    field_defaults: Json = dict(defaults or {})
    if unit:
        field_defaults["unit"] = unit
    if custom:
        field_defaults["custom"] = custom
    result: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": field_defaults, "overrides": []},
        "options": options or {},
    }
    if transformations:
        result["transformations"] = transformations
    return result


def timeseries(
    title: str,
    targets: list[Json],
    grid: tuple[int, int, int, int],
    *,
    band: tuple[float, float] | None = None,
    stacked: bool = False,
    **kwargs: Any,
) -> Json:
    custom: Json = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "spanNulls": True}
    defaults = dict(kwargs.pop("defaults", {}))
    if band is not None:
        custom["thresholdsStyle"] = {"mode": "line+area"}
        defaults["thresholds"] = band_thresholds(*band)
    if stacked:
        custom["stacking"] = {"mode": "normal", "group": "A"}
        custom["fillOpacity"] = 60
    options = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
    return panel(
        "timeseries", title, targets, grid, custom=custom, defaults=defaults, options=options,
        **kwargs,
    )  # fmt: skip


def stat(
    title: str, query: str, grid: tuple[int, int, int, int], *, total: bool = False, **kwargs: Any
) -> Json:
    """A single number. `total=True` sums over every series the query returns (InfluxQL keeps
    one series per measurement of /^(orchid|rice|...)$/; Grafana merges them, then sums)."""
    calc = "sum" if total else "lastNotNull"
    options = {"reduceOptions": {"calcs": [calc], "fields": "", "values": False}}
    if total:
        kwargs["transformations"] = [{"id": "merge", "options": {}}]
    return panel("stat", title, [target(query)], grid, options=options, **kwargs)


def table(title: str, query: str, grid: tuple[int, int, int, int], **kwargs: Any) -> Json:
    return panel("table", title, [target(query, fmt="table")], grid, **kwargs)


def query_variable(name: str, label: str, query: str) -> Json:
    """A multi-value, include-all variable filled by an InfluxQL `SHOW TAG VALUES` query."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "current": {"text": ["All"], "value": ["$__all"]},
    }


def gateway_variable() -> Json:
    return query_variable("gateway", "Gateway", 'SHOW TAG VALUES WITH KEY = "gateway"')


def node_variable() -> Json:
    return query_variable(
        "node",
        "Node",
        f'SHOW TAG VALUES FROM {READING_MEASUREMENTS} WITH KEY = "node" WHERE {GATEWAY_FILTER}',
    )


def dashboard(
    uid: str, title: str, description: str, panels: list[Json], variables: list[Json]
) -> Json:
    for number, item in enumerate(panels, start=1):
        item["id"] = number
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["subak-telemetry"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        # Grafana's built-in annotations only: the schema's AnnotationTarget has no InfluxQL
        # form, so alerts are shown by the panels that query "notifications" instead.
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "name": "Annotations & Alerts",
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables},
        "panels": panels,
    }
