"""Every dashboard validates against the JSON Schema generated from @grafana/schema, the
committed JSON is what the builder makes, and the provisioning files agree with both."""

import copy
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from dashboards.__main__ import OUT_DIR, main, render
from dashboards.catalog import DASHBOARDS
from dashboards.panels import DATASOURCE

PROVISIONING = Path(OUT_DIR).parent / "provisioning"
NAMES = sorted(DASHBOARDS)


def load(name: str) -> dict:
    return json.loads((OUT_DIR / f"{name}.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_dashboard_validates_against_grafana_schema(grafana_schema, name):
    validator = jsonschema.Draft7Validator(grafana_schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(load(name))]
    assert errors == []


@pytest.mark.slow
def test_schema_rejects_a_broken_dashboard(grafana_schema):
    """The generated schema is strict enough to catch real mistakes."""
    validator = jsonschema.Draft7Validator(grafana_schema)
    broken = copy.deepcopy(load("node-detail"))
    broken["panels"][0]["gridPos"]["w"] = "twelve"
    broken["templating"]["list"][0]["refresh"] = 7
    del broken["schemaVersion"]
    errors = list(validator.iter_errors(broken))
    messages = " | ".join(e.message for e in errors)
    assert ["panels", 0] in [list(e.absolute_path) for e in errors]  # panel gridPos.w
    assert "'schemaVersion' is a required property" in messages
    assert "7 is not one of" in messages


def test_committed_json_is_what_the_builder_makes():
    for name in NAMES:
        assert (OUT_DIR / f"{name}.json").read_text() == render(name), "run python -m dashboards"
    assert main(["--check"]) == 0


def test_check_flags_a_stale_file(tmp_path, capsys):
    main(["--out", str(tmp_path)])
    (tmp_path / "node-detail.json").write_text("{}")
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert "node-detail.json" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_panels_use_the_provisioned_datasource_and_variables(name):
    dashboard = load(name)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert "gateway" in variables
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == DATASOURCE
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["rawQuery"] is True
            used = set(re.findall(r"\$(?!__|timeFilter)(\w+)", target["query"]))
            assert used <= variables, (panel["title"], used - variables)
            assert "/^$gateway$/" in target["query"], panel["title"]


def test_node_detail_draws_optimal_bands_as_thresholds():
    panels = {p["title"]: p for p in load("node-detail")["panels"]}
    temperature = panels["Air temperature"]["fieldConfig"]["defaults"]
    assert [s["value"] for s in temperature["thresholds"]["steps"]] == [None, 20.5, 25.5]
    assert [s["color"] for s in temperature["thresholds"]["steps"]] == ["red", "green", "red"]
    assert temperature["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert "thresholds" not in panels["Soil pH"]["fieldConfig"]["defaults"]
    assert panels["Label timeline"]["type"] == "state-timeline"
    assert "node" in {v["name"] for v in load("node-detail")["templating"]["list"]}


def test_datasource_provisioning(monkeypatch):
    config = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text())
    (source,) = config["datasources"]
    assert source["uid"] == DATASOURCE["uid"] and source["type"] == DATASOURCE["type"]
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["dbName"] == source["database"] == "${INFLUX_DB}"
    assert source["secureJsonData"]["httpHeaderValue1"] == "Token ${INFLUX_TOKEN}"


def test_dashboard_provider_provisioning():
    config = yaml.safe_load((PROVISIONING / "dashboards" / "subak.yaml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert os.path.isabs(provider["options"]["path"])
