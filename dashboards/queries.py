"""Read the InfluxQL out of a dashboard's JSON: each panel target's query and each query
variable's query, in dashboard order. Pure; the tests run what this returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PanelQuery:
    panel: str
    ref_id: str
    query: str
    result_format: str


def panel_queries(dashboard: dict[str, Any]) -> Iterator[PanelQuery]:
    for panel in dashboard.get("panels", []):
        for panel_child in [panel, *panel.get("panels", [])]:
            for target in panel_child.get("targets", []):
                yield PanelQuery(
                    panel_child.get("title", ""),
                    target.get("refId", ""),
                    target["query"],
                    target.get("resultFormat", "time_series"),
                )


def variable_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, query) of every `query` variable, in order (later ones may use earlier ones)."""
    return [
        (v["name"], v["query"])
        for v in dashboard.get("templating", {}).get("list", [])
        if v.get("type") == "query"
    ]
