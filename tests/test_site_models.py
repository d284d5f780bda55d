"""The models page and the model version pages, built from real git repos with real GTO tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from mlpages.config import Config
from mlpages.registry import write as registry_write
from mlpages.site.build import build_site, gather
from mlpages.site.pages import model_version as page_model_version

DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps: [data/raw, train.py]
    params: [train.n_est]
    outs: [models/model.pkl]
    metrics:
    - metrics/test.json: {cache: false}
artifacts:
  churn:
    path: models/model.pkl
    type: model
    desc: default classifier
"""
PAYLOAD = "<script>window.__pwned=1</script>"


def lock(data: str, code: str, model: str, n_est: int) -> str:
    return f"""schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/raw
      hash: md5
      md5: {data}.dir
      size: 1000
      nfiles: 3
    - path: train.py
      hash: md5
      md5: {code}
      size: 100
    params:
      params.yaml:
        train.n_est: {n_est}
    outs:
    - path: models/model.pkl
      hash: md5
      md5: {model}
      size: 2000
"""


def run(repo, message: str, n_est: int, auc: float, data: str, code: str, model: str, gate: str):
    files = {
        "dvc.yaml": DVC_YAML,
        "train.py": f"N = {n_est}\n",
        "params.yaml": f"train:\n  n_est: {n_est}\n",
        "dvc.lock": lock(data, code, model, n_est),
        "metrics/test.json": json.dumps({"roc_auc": auc, "logloss": 1 - auc}),
        "reports/gate.json": json.dumps(
            {
                "verdict": gate,
                "rubber_stamp": False,
                "champion": None,
                "rules": [
                    {
                        "rule": "floor",
                        "metric": "roc_auc",
                        "candidate": auc,
                        "threshold": 0.7,
                        "passed": gate == "blessed",
                        "reason": f"roc_auc {auc} vs floor 0.7",
                    }
                ],
                "reasons": [],
            }
        ),
    }
    return repo.commit(message, files)


def tag(repo, monkeypatch, seconds_after: int, action, *args, **kwargs):
    """Write a registry tag with a fixed tagger date (one-second resolution orders events)."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{repo.clock + seconds_after} +0000")
    return action(repo.path, *args, **kwargs)


def _git_env(monkeypatch) -> None:
    from helpers.git import IDENTITY

    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """v1.0.0 → prod, v1.1.0 → prod, rollback of prod to v1.0.0, v1.2.0 never promoted;
    the repository and its site are built once for the module."""
    from helpers.git import RepoBuilder

    root = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        _git_env(mp)
        repo = RepoBuilder(root / "repo")
        first = run(repo, "train v1", 50, 0.80, "1" * 32, "c" * 32, "a" * 32, "blessed")
        tag(repo, mp, 10, registry_write.register, "churn", version="v1.0.0", rev=first)
        tag(repo, mp, 20, registry_write.assign, "churn", "prod", version="v1.0.0")
        second = run(repo, f"train v2 {PAYLOAD}", 80, 0.85, "2" * 32, "d" * 32, "b" * 32, "blessed")
        message = f"release {PAYLOAD}"
        tag(repo, mp, 10, registry_write.register, "churn", "v1.1.0", rev=second, message=message)
        tag(repo, mp, 20, registry_write.assign, "churn", "prod", version="v1.1.0")
        tag(repo, mp, 30, registry_write.rollback, "churn", "prod", message="bad scores")
        third = run(repo, "train v3", 90, 0.70, "2" * 32, "d" * 32, "e" * 32, "rejected")
        tag(repo, mp, 10, registry_write.register, "churn", version="v1.2.0", rev=third)
    build_site(repo.path, root / "site", Config())
    return repo, (first, second, third), root / "site"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(), "html.parser")


def figure_json(page: BeautifulSoup, prefix: str) -> dict:
    div = page.select_one(f"div[data-figure^='{prefix}']")
    assert div is not None, f"no figure {prefix}"
    return json.loads(page.find("script", id=div["data-figure"]).string)


def test_no_registry_says_so_and_lists_declared_models(make_repo, tmp_path, monkeypatch) -> None:
    _git_env(monkeypatch)
    repo = make_repo()
    run(repo, "train", 50, 0.8, "1" * 32, "c" * 32, "a" * 32, "blessed")
    build_site(repo.path, tmp_path / "site", Config())
    page = soup(tmp_path / "site" / "models.html")
    text = page.get_text(" ", strip=True)
    assert "No model is registered in this repository" in text
    assert "churn" in page.select_one("table").get_text()  # declared in dvc.yaml
    assert not (tmp_path / "site" / "models").exists()
    assert page.select("div[data-figure]") == []


def test_models_page_shows_versions_stages_timeline_and_rollback(built) -> None:
    _, _, site = built
    page = soup(site / "models.html")
    cards = {c.h2.get_text(strip=True): c.get_text(" ", strip=True) for c in page.select(".card")}
    assert "v1.0.0" in cards["prod · production"]  # the rollback put v1.0.0 back
    rows = page.select("table.versions tbody tr")
    assert [r.select_one("td a").get_text() for r in rows] == ["v1.2.0", "v1.1.0", "v1.0.0"]
    assert "rolled back to" in rows[2].get_text()
    assert rows[0].select_one("td:nth-of-type(6)").get_text(strip=True) == "rejected"
    link = rows[1].select_one("a.sha")["href"]
    assert (site / link).is_file()  # links to the commit page
    timeline = figure_json(page, "timeline")
    bars = [t for t in timeline["data"] if t["type"] == "bar"]
    assert sorted(b["name"] for b in bars) == ["v1.0.0", "v1.1.0"]
    assert any(t["name"] == "rollback" for t in timeline["data"])
    side = page.select_one("table.side-by-side")
    headers = [th.get_text(strip=True) for th in side.select("thead th")]
    assert headers == ["File", "Metric", "v1.2.0", "v1.1.0", "v1.0.0"]
    auc = next(r for r in side.select("tbody tr") if "roc_auc" in r.get_text())
    assert [td.get_text(" ", strip=True) for td in auc.select("td.num")] == [
        "0.7 -0.15",
        "0.85 +0.05",
        "0.8",
    ]
    assert "worse" in auc.select("td.num span")[0]["class"]


def test_version_page_has_full_provenance(built) -> None:
    _, (first, second, _), site = built
    page = soup(site / page_model_version.version_path("churn", "v1.1.0"))
    text = page.get_text(" ", strip=True)
    assert second[:8] in text and "train v2" in text
    assert "blessed" in text
    replaced = page.select(".card")[2].get_text(" ", strip=True)
    assert "v1.0.0" in replaced and "held prod before" in replaced
    held = page.select_one("table").get_text(" ", strip=True)
    assert "replaced by v1.0.0 rollback" in held
    prov = page.select_one(".prov").get_text(" ", strip=True)
    assert "data/raw" in prov and "2" * 12 in prov  # data hash from dvc.lock
    assert "train.py" in prov and "d" * 12 in prov  # code hash
    assert "train.n_est" in prov and "80" in prov
    changed = page.get_text(" ", strip=True).split("What changed since v1.1.0")[0]
    assert "What changed since v1.0.0" in changed
    diff = text.split("What changed since v1.0.0")[1].split("Provenance")[0]
    assert "train.n_est 50 80" in diff and "roc_auc 0.8 0.85 +0.05" in diff
    assert "data/raw modified" in diff
    link = page.find("a", string="open in the compare view")["href"]
    assert link == f"../../compare.html#a={first}&b={second}"


def test_first_version_replaced_nothing(built) -> None:
    repo, _, _ = built
    site = gather(repo.path, Config())
    artifact = site.registry.artifacts["churn"]
    first = artifact.version("v1.0.0")
    context = page_model_version.version_context(site, artifact, first)
    assert context["replaced"] is None and context["diff"] is None
    never_promoted = page_model_version.version_context(site, artifact, artifact.version("v1.2.0"))
    assert never_promoted["replaced"]["version"] == "v1.1.0"
    assert never_promoted["replaced"]["how"] == "the previously registered version"
    assert never_promoted["gate"].summary.verdict == "rejected"


def test_repository_text_is_shown_literally(built) -> None:
    _, _, site = built
    for path in [site / "models.html", *site.glob("models/*/*")]:
        assert PAYLOAD not in path.read_text()  # neither as markup nor inside a JSON script
    page = soup(site / page_model_version.version_path("churn", "v1.1.0"))
    assert PAYLOAD in page.get_text()  # escaped, so it reads as text


@pytest.mark.browser
def test_models_pages_draw_in_chromium(built, browser) -> None:
    from test_site_monitoring import draw_in_chromium

    version = page_model_version.version_path("churn", "v1.1.0")
    drawn = draw_in_chromium(browser, built[2], ["models.html", version])
    assert drawn["models.html"] == [4]  # two versions' bars, the rollback, the registrations
    assert drawn[version] == []


@pytest.mark.browser
def test_version_page_opens_the_compare_view_on_both_commits(built, browser) -> None:
    _, (first, second, _), site = built
    page = browser.new_page()
    page.goto((site / page_model_version.version_path("churn", "v1.1.0")).as_uri())
    page.click("text=open in the compare view")
    page.wait_for_selector("body[data-compare-ready]")
    chosen = (page.input_value("#cmp-a"), page.input_value("#cmp-b"))
    page.close()
    assert chosen == (first, second)


def test_trend_inputs_from_the_real_history_and_registry(built) -> None:
    from mlpages.site.charts.mlops import mainline_points, version_markers

    repo, shas, _ = built
    site = gather(repo.path, Config())
    points = mainline_points(site.history, "metrics/test.json:roc_auc")
    assert [(p.sha, p.value) for p in points] == list(zip(shas, [0.8, 0.85, 0.7], strict=True))
    markers = version_markers(site.registry.events, "prod", "churn")
    assert [(m.kind, m.label) for m in markers] == [
        ("register", "v1.0.0"),
        ("promote", "v1.0.0 → prod"),
        ("register", "v1.1.0"),
        ("promote", "v1.1.0 → prod"),
        ("rollback", "v1.0.0 → prod (rollback)"),
        ("register", "v1.2.0"),
    ]
