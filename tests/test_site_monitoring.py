"""The monitoring and data-validation pages, built from real git repos carrying CT reports."""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from mlpages.config import Config
from mlpages.site.build import build_site, gather
from mlpages.site.charts import monitoring as charts_monitoring
from mlpages.site.pages import monitoring as page_monitoring
from mlpages.site.pages import validation as page_validation

FEATURES = ("income", "age")


def lock(model: str) -> str:
    return f"""schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/raw
      hash: md5
      md5: {"1" * 32}.dir
    outs:
    - path: models/model.pkl
      hash: md5
      md5: {model}
      size: 10
"""


DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps: [data/raw]
    outs: [models/model.pkl]
artifacts:
  churn: {path: models/model.pkl, type: model}
"""


def batch(week: int, drifted: bool, auc: float | None) -> dict:
    return {
        "batch": f"week_{week:02d}.csv",
        "week": week,
        "model_version": "v1.0.0" if week < 2 else "v1.1.0",
        "rows": 100,
        "prediction_mean": 0.3,
        "prediction_hist": [5, 20, 50, 20, 5],
        "hist_edges": [0, 0.2, 0.4, 0.6, 0.8, 1.0],
        "drift": {"income": 0.9 if drifted else 0.1, "age": 0.05},
        "drifted_features": ["income"] if drifted else [],
        "prediction_drift": 0.1,
        "labels": auc is not None,
        "metrics": {"roc_auc": auc} if auc is not None else {},
        "estimated": {} if auc is not None else {"confidence": 0.77},
        "alerts": [{"kind": "drift", "detail": "income <b>drifted</b>"}] if drifted else [],
    }


def week_files(week: int, batches: list[dict], model: str, retrain: bool) -> dict[str, str]:
    broken = week == 1
    return {
        "dvc.yaml": DVC_YAML,
        "dvc.lock": lock(model),
        "reports/validation.json": json.dumps(
            {
                "status": "fail" if broken else "pass",
                "batch": f"week_{week:02d}.csv",
                "rows": 100,
                "anomalies": (
                    [{"kind": "missing_column", "column": "income", "count": 100, "detail": "gone"}]
                    if broken
                    else []
                ),
            }
        ),
        "reports/drift.json": json.dumps(
            {
                "batch": f"week_{week:02d}.csv",
                "share_drifted": 0.5 if week >= 3 else 0.0,
                "dataset_drift": week >= 3,
                "features": [
                    {"feature": f, "drifted": week >= 3 and f == "income"} for f in FEATURES
                ],
            }
        ),
        "reports/monitoring.json": json.dumps(
            {"threshold": {"metric": "roc_auc", "min": 0.7}, "batches": batches}
        ),
        "reports/trigger.json": json.dumps(
            {
                "retrain": retrain,
                "batch": f"week_{week:02d}.csv",
                "reasons": [{"kind": "drift" if retrain else "new_data", "detail": f"w{week}"}],
                "blocked": "broken batch: retraining held back" if broken else None,
            }
        ),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Five weekly commits: a broken batch in week 1, drift from week 3 that triggers a
    retraining, the retrained model committed in week 4 whose own run decides to retrain too
    (and does, in the same commit). Built once for the module."""
    from helpers.git import RepoBuilder

    root = tmp_path_factory.mktemp("monitoring")
    repo = RepoBuilder(root / "repo")
    batches: list[dict] = []
    shas = []
    for week in range(5):
        batches.append(
            batch(week, drifted=week >= 3, auc=0.8 - 0.05 * week if week % 2 == 0 else None)
        )
        model = ("a" if week < 4 else "b") * 32
        shas.append(
            repo.commit(f"week {week}", week_files(week, list(batches), model, week in (3, 4)))
        )
    build_site(repo.path, root / "site", Config())
    return repo, shas, root / "site"


def soup(path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(), "html.parser")


def figure(page: BeautifulSoup, figure_id: str) -> dict:
    assert page.select_one(f"div[data-figure='{figure_id}']") is not None
    return json.loads(page.find("script", id=figure_id).string)


def test_monitoring_page_figures(built) -> None:
    _, shas, site = built
    page = soup(site / "monitoring.html")
    drift = figure(page, "mon-drift")
    assert drift["data"][0]["y"] == ["income", "age"]  # the drifting feature first
    assert drift["data"][0]["x"] == [f"week_{w:02d}.csv" for w in range(5)]
    performance = figure(page, "mon-performance")
    assert performance["data"][0]["y"] == [0.8, None, 0.7, None, 0.6]
    assert performance["layout"]["shapes"][0]["y1"] == 0.7  # threshold band
    assert any(a["text"] == "model v1.1.0" for a in performance["layout"]["annotations"])
    predictions = figure(page, "mon-predictions")
    assert [t["name"] for t in predictions["data"]][-2:] == ["median", "mean"]
    source = page.select_one("main p.muted")
    assert shas[-1][:8] in source.get_text()


def test_monitoring_health_alerts_and_triggers(built) -> None:
    _, shas, site = built
    page = soup(site / "monitoring.html")
    cards = {c.h2.get_text(strip=True): c.get_text(" ", strip=True) for c in page.select(".card")}
    assert "attention" in cards["Current health"] and "week_04.csv" in cards["Current health"]
    assert "0.6" in cards["roc_auc"] and "below threshold" in cards["roc_auc"]
    assert "income" in cards["Drift & alerts"]
    alerts = page.find("h3", string="Alerts").find_next("table")
    assert "income <b>drifted</b>" in alerts.get_text()  # shown literally, not as markup
    assert alerts.find("b") is None
    assert len(page.select("table.triggers.all tbody tr")) == 5  # every decision, folded
    rows = page.select_one("table.triggers").select("tbody tr")
    assert len(rows) == 3  # the latest, each retrain and the blocked one
    retrains = [r for r in rows if r.select("td")[3].get_text(strip=True) == "retrain"]
    assert [r.select_one("td a").get_text() for r in retrains] == [shas[4][:8], shas[3][:8]]
    assert "week_03.csv" in retrains[1].get_text()
    # week 3's decision was carried out by the next run; week 4's run retrained at once
    assert retrains[0].select("td")[5].get_text(strip=True) == "retrained in the same run"
    assert retrains[1].select_one("td:nth-of-type(6) a").get_text() == shas[4][:8]
    blocked = rows[2]  # week 1, newest first
    assert "bad" in blocked["class"] and "retraining held back" in blocked.get_text()


def test_validation_page(built) -> None:
    site = built[2]
    page = soup(site / "validation.html")
    rows = page.select("table.validation tbody tr")
    assert [r.select_one("td code").get_text() for r in rows] == [
        f"week_{w:02d}.csv" for w in (4, 3, 2, 1, 0)
    ]
    failed = rows[3]
    assert "bad" in failed["class"] and "missing_column" in failed.get_text()
    assert "1 of 2 features drifted" in rows[0].get_text(" ", strip=True)
    chart = figure(page, "validation-timeline")
    assert chart["data"][0]["y"] == [0, 1, 0, 0, 0]
    assert chart["data"][1]["customdata"][1] == "fail"


def test_no_reports_says_so(make_repo, tmp_path) -> None:
    repo = make_repo([("init", {"dvc.yaml": DVC_YAML, "params.yaml": "a: 1\n"})])
    build_site(repo.path, tmp_path / "site", Config())
    monitoring = soup(tmp_path / "site" / "monitoring.html").get_text(" ", strip=True)
    assert "No monitoring data exists" in monitoring
    assert "No retraining trigger report" in monitoring
    validation = soup(tmp_path / "site" / "validation.html").get_text(" ", strip=True)
    assert "No data validation report exists" in validation
    assert soup(tmp_path / "site" / "monitoring.html").select("div[data-figure]") == []


def test_malformed_reports_never_break_the_pages(make_repo, tmp_path) -> None:
    bad = {
        "reports/monitoring.json": json.dumps(
            {
                "threshold": "high",
                "batches": [
                    "nonsense",
                    {"batch": None},
                    {"batch": "w1", "drift": [1, 2], "prediction_hist": [1, -2], "hist_edges": "x"},
                    {"batch": "w2", "metrics": {"roc_auc": "NaN"}, "alerts": ["x", {"kind": 3}]},
                ],
            }
        ),
        "reports/validation.json": json.dumps({"status": 1, "anomalies": "oops"}),
        "reports/trigger.json": json.dumps(["retrain"]),
        "reports/drift.json": json.dumps({"features": "none"}),
    }
    repo = make_repo([("init", {"dvc.yaml": DVC_YAML}), ("bad reports", bad)])
    build_site(repo.path, tmp_path / "site", Config())
    site = gather(repo.path, Config())
    context = page_monitoring.monitoring_context(site)
    assert [b["batch"] for b in context["batches"]] == ["w2", "w1"]
    assert context["alerts"] == [{"batch": "w2", "week": None, "kind": "3", "detail": ""}]
    validation = page_validation.validation_context(site)
    assert validation["rows"][0]["status"] == "unknown" and validation["rows"][0]["anomalies"] == []
    assert "w2" in (tmp_path / "site" / "monitoring.html").read_text()


def test_parse_batch_types() -> None:
    parsed = page_monitoring.parse_batch(batch(3, drifted=True, auc=None))
    assert parsed is not None
    assert parsed.drift == {"income": 0.9, "age": 0.05} and parsed.drifted_features == ("income",)
    assert parsed.estimated == {"confidence": 0.77} and not parsed.labels
    assert parsed.alerts == (("drift", "income <b>drifted</b>"),)
    assert page_monitoring.parse_batch({"batch": "x", "labels": "yes"}).labels is False
    assert page_monitoring.parse_batch(["x"]) is None
    unversioned = page_monitoring.parse_batch({"batch": "w", "model_hash": "0123456789abcdef"})
    assert charts_monitoring.model_label(unversioned) == "01234567"


def draw_in_chromium(browser, site, pages: list[str]) -> dict[str, list[int]]:
    """Open each page from file:// in Chromium; return the trace count of every drawn figure."""
    drawn: dict[str, list[int]] = {}
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 6000})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}"))
    for rel in pages:
        page.goto((site / rel).as_uri())
        page.wait_for_function(
            "Array.from(document.querySelectorAll('div[data-figure]')).every(d => d.data)",
            timeout=15_000,
        )
        drawn[rel] = page.evaluate(
            "Array.from(document.querySelectorAll('div[data-figure]')).map(d => d.data.length)"
        )
    page.close()
    assert errors == []
    return drawn


@pytest.mark.browser
def test_pages_draw_their_charts_in_chromium(built, browser) -> None:
    drawn = draw_in_chromium(browser, built[2], ["monitoring.html", "validation.html"])
    assert drawn["monitoring.html"] == [2, 2, 6]  # heatmap + flags, measured + estimate, bands
    assert drawn["validation.html"] == [3]


def test_a_batch_validated_again_keeps_one_row_with_its_latest_verdict(make_repo) -> None:
    def report(name: str, status: str) -> dict[str, str]:
        return {"reports/validation.json": json.dumps({"status": status, "batch": name})}

    repo = make_repo(
        [
            ("init", {"dvc.yaml": DVC_YAML}),
            ("a", report("a.csv", "pass")),
            ("b", report("b.csv", "fail")),
            ("quarantine b: validate a again", report("a.csv", "pass")),
            ("b fixed", report("b.csv", "pass")),
        ]
    )
    context = page_validation.validation_context(gather(repo.path, Config()))
    rows = [(r["batch"], r["status"], r["runs"], r["subject"]) for r in context["rows"]]
    assert rows == [
        ("b.csv", "pass", 2, "b fixed"),
        ("a.csv", "pass", 2, "quarantine b: validate a again"),
    ]
    assert context["figure"]["data"][0]["x"] == ["a.csv", "b.csv"]
