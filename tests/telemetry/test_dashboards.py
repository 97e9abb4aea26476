"""Grafana dashboards: valid JSON, datasource and job as template variables, units declared,
and provisioning files that point at them. (Their queries are run by test_prometheus_live.)"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "observability" / "grafana"


def test_dashboards_are_templated_and_have_units() -> None:
    boards = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert len(boards) >= 2
    uids = set()
    for path in boards:
        board = json.loads(path.read_text())
        uids.add(board["uid"])
        variables = {v["name"] for v in board["templating"]["list"]}
        assert {"datasource", "job"} <= variables, path.name
        for panel in board["panels"]:
            assert panel["fieldConfig"]["defaults"]["unit"], (path.name, panel["title"])
            assert panel["datasource"]["uid"] == "${datasource}"
            for target in panel["targets"]:
                assert 'job="hotgigs' not in target["expr"], "use the $job variable"
    assert len(uids) == len(boards)


def test_provisioning_files_are_valid() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    assert datasources["datasources"][0]["type"] == "prometheus"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/hotgigs.yml").read_text())
    assert providers["providers"][0]["type"] == "file"
