"""The model gate: pure rules, fresh-process loading, and the champion read from the DVC cache."""

from __future__ import annotations

import json
import math
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from helpers.dvc import dvc
from helpers.git import git
from sklearn.linear_model import LogisticRegression

from mlpages.config import Config
from mlpages.ct.champion import Champion, champion_model_bytes, resolve_champion
from mlpages.ct.gate import probe_in_fresh_process, run_gate
from mlpages.ct.gate_rules import (
    GateSettings,
    RuleResult,
    Scores,
    classification_metrics,
    decide,
    gate_settings,
    score_predictions,
)
from mlpages.errors import ConfigError, DataError, ObjectMismatch
from mlpages.objects.dvcconfig import cache_dir_of
from mlpages.objects.objectid import object_relpath
from mlpages.registry.gitio import model_hash_at

LOADS = RuleResult("loads", True, "loads")


def _settings(**kw: object) -> GateSettings:
    base: dict[str, object] = {
        "floors": {"roc_auc": 0.6, "log_loss": 0.7},
        "margins": {"roc_auc": 0.01, "log_loss": 0.02},
    }
    return GateSettings(**{**base, **kw})  # type: ignore[arg-type]


def _scores(auc: float, loss: float, slices: dict[str, float] | None = None) -> Scores:
    slices = slices or {}
    return Scores(
        {"roc_auc": auc, "log_loss": loss},
        {k: {"roc_auc": v} for k, v in slices.items()},
        dict.fromkeys(slices, 100),
    )


def _failed(rules: tuple[RuleResult, ...]) -> list[tuple[str, str | None]]:
    return [(r.rule, r.metric) for r in rules if not r.passed]


def test_first_run_is_a_rubber_stamp_on_floors() -> None:
    verdict, rubber, rules, reasons = decide(_scores(0.7, 0.5), None, LOADS, 100, _settings())
    assert (verdict, rubber) == ("blessed", True)
    assert [r.rule for r in rules] == ["loads", "finite_predictions", "floor", "floor"]
    assert reasons[0].startswith("rubber stamp: there is no champion yet")


def test_floors_are_direction_aware() -> None:
    verdict, _, rules, reasons = decide(_scores(0.55, 0.9), None, LOADS, 100, _settings())
    assert verdict == "rejected"
    assert _failed(rules) == [("floor", "roc_auc"), ("floor", "log_loss")]
    assert reasons == (
        "roc_auc 0.5500 misses the floor ≥ 0.6",
        "log_loss 0.9000 misses the floor ≤ 0.7",
    )


def test_non_inferiority_with_margins_both_directions() -> None:
    champion = _scores(0.80, 0.40)
    ok = decide(_scores(0.795, 0.415), champion, LOADS, 100, _settings())
    assert ok[0] == "blessed" and ok[1] is False
    assert ok[3] == ("all 6 rules passed against the champion",)
    worse_auc = decide(_scores(0.78, 0.40), champion, LOADS, 100, _settings())
    assert _failed(worse_auc[2]) == [("non_inferiority", "roc_auc")]
    assert "roc_auc 0.7800 is worse than allowed" in worse_auc[3][0]
    worse_loss = decide(_scores(0.80, 0.43), champion, LOADS, 100, _settings())
    assert _failed(worse_loss[2]) == [("non_inferiority", "log_loss")]
    rule = next(r for r in worse_loss[2] if r.metric == "log_loss" and r.rule == "non_inferiority")
    assert rule.threshold == pytest.approx(0.42) and rule.champion == 0.40


def test_explicit_directions_and_config_override_the_name_hint() -> None:
    settings = _settings(margins={"score": 0.0}, floors={})
    champion = Scores({"score": 1.0})
    lower = Config(lower_is_better=["score"])
    assert decide(Scores({"score": 0.9}), champion, LOADS, 1, settings, lower)[0] == "blessed"
    assert decide(Scores({"score": 0.9}), champion, LOADS, 1, settings, Config())[0] == "rejected"
    explicit = _settings(margins={"score": 0.0}, floors={}, directions={"score": "lower"})
    assert decide(Scores({"score": 0.9}), champion, LOADS, 1, explicit, Config())[0] == "blessed"


def test_slices_regressions_and_missing_slices_fail() -> None:
    settings = _settings(slice_column="region", slice_margin=0.05, slices=("n", "s", "w"))
    champion = _scores(0.8, 0.4, {"n": 0.80, "s": 0.80, "w": 0.7})
    candidate = _scores(0.8, 0.4, {"n": 0.78, "s": 0.70})
    verdict, _, rules, reasons = decide(candidate, champion, LOADS, 100, settings)
    assert verdict == "rejected"
    assert [(r.slice, r.passed) for r in rules if r.rule == "slice"] == [
        ("n", True),
        ("s", False),
        ("w", False),
    ]
    assert any("slice region=w is missing" in r for r in reasons)
    assert any("slice region=s: roc_auc 0.7000 vs champion 0.8000 (beyond" in r for r in reasons)


def test_non_finite_predictions_and_load_failures_reject() -> None:
    scores = Scores({"roc_auc": 0.9, "log_loss": 0.1}, non_finite=3)
    broken = RuleResult("loads", False, "the model failed in a fresh process: boom")
    verdict, _, _, reasons = decide(scores, None, broken, 50, _settings())
    assert verdict == "rejected"
    assert reasons == (
        "the model failed in a fresh process: boom",
        "3 of 50 predictions are NaN or infinite",
    )
    cannot = Scores({"roc_auc": math.nan}, error="ValueError: bad input")
    assert (
        "cannot score the test data: ValueError"
        in decide(cannot, None, LOADS, 5, _settings())[3][0]
    )


def test_a_champion_that_cannot_score_the_data_falls_back_to_floors() -> None:
    broken = Scores({"roc_auc": math.nan, "log_loss": math.nan}, error="KeyError: 'income'")
    verdict, rubber, rules, reasons = decide(_scores(0.7, 0.5), broken, LOADS, 100, _settings())
    assert (verdict, rubber) == ("blessed", True)
    assert {r.rule for r in rules} == {"loads", "finite_predictions", "floor"}
    assert "the champion cannot score the current test data (KeyError: 'income')" in reasons[0]
    undefined = _scores(0.7, math.nan)  # e.g. log_loss undefined for the champion only
    _, _, rules, _ = decide(_scores(0.7, 0.5), undefined, LOADS, 100, _settings())
    loss = next(r for r in rules if r.rule == "non_inferiority" and r.metric == "log_loss")
    assert loss.passed and "the champion has none" in loss.reason


def test_metrics_and_slice_scores() -> None:
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, np.nan, 0.9])
    result = score_predictions(labels, scores, 0.5, pd.Series(["a", "a", "a", "b", "b", "b"]))
    assert result.non_finite == 1
    assert result.metrics["roc_auc"] == pytest.approx(5 / 6)
    assert result.slice_rows == {"a": 3, "b": 2}
    assert math.isnan(result.slices["b"]["roc_auc"])  # one class left in slice b
    single = classification_metrics([1, 1], [0.2, 0.9], 0.5)
    assert math.isnan(single["roc_auc"]) and single["recall"] == 0.5


def test_settings_are_checked() -> None:
    settings = gate_settings({"floors": {"roc_auc": 0.7}, "threshold": 0.35, "slices": ["a"]})
    assert settings.floors == {"roc_auc": 0.7} and settings.threshold == 0.35
    # One message format for every settings section (mlpages.settings).
    with pytest.raises(ConfigError, match=r"^params\.yaml: gate\.floor: unknown setting"):
        gate_settings({"floor": {}})
    with pytest.raises(
        ConfigError, match=r"gate\.margins\.roc_auc: expected a number, got 'small'"
    ):
        gate_settings({"margins": {"roc_auc": "small"}})
    with pytest.raises(
        ConfigError, match=r"gate\.directions\.roc_auc: expected one of higher, lower"
    ):
        gate_settings({"directions": {"roc_auc": "up"}})


# --- real models -------------------------------------------------------------------------------


def _dataset(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    label = (x1 + 0.5 * x2 + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "region": rng.choice(["n", "s"], n), "y": label})


def _fit(frame: pd.DataFrame, features: tuple[str, ...] = ("x1", "x2")) -> LogisticRegression:
    return LogisticRegression().fit(frame[list(features)], frame["y"])


def test_probe_loads_a_real_model_in_a_fresh_process(tmp_path: Path) -> None:
    data = _dataset()
    path = tmp_path / "model.pkl"
    joblib.dump(_fit(data), path)
    rule = probe_in_fresh_process(path, data.drop(columns=["y"]).head(5), timeout=60)
    assert rule.passed, rule.reason
    assert rule.reason == "loads in a fresh process and answers 5 canned requests"


def test_canned_requests_from_a_file_must_be_answered(real_dvc_gate_repo: Path) -> None:
    (real_dvc_gate_repo / "canned.csv").write_text("x1,x2,region\n0.5,-1,n\n,3,s\n")
    settings = GateSettings(label="y", test_data="data/test.csv", canned_requests="canned.csv")
    outcome = run_gate(real_dvc_gate_repo, settings)  # a bare LogisticRegression cannot take a gap
    loads = outcome.report.rules[0]
    assert loads.rule == "loads" and not loads.passed
    assert "does not accept missing values" in loads.reason
    assert gate_settings({"canned_requests": "canned.csv"}).canned_requests == "canned.csv"


def test_probe_reports_a_broken_pickle_and_nan_answers(tmp_path: Path) -> None:
    data = _dataset()
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"not a pickle at all")
    rule = probe_in_fresh_process(broken, data.head(3), timeout=60)
    assert not rule.passed and rule.reason.startswith("the model failed in a fresh process:")
    model = _fit(data)
    model.coef_[:] = np.nan
    nan_path = tmp_path / "nan.pkl"
    joblib.dump(model, nan_path)
    rule = probe_in_fresh_process(nan_path, data.head(3), timeout=60)
    assert not rule.passed and "NaN/Inf" in rule.reason


TRAIN_SCRIPT = """
import sys, joblib, pandas as pd, yaml
from sklearn.linear_model import LogisticRegression
features = yaml.safe_load(open("params.yaml"))["train"]["features"]
data = pd.read_csv("data/train.csv")
joblib.dump(LogisticRegression().fit(data[features], data["y"]), "models/model.pkl")
"""


def _train(repo: Path, features: str) -> None:
    params = re.sub(
        r"features: \[.*\]", f"features: {features}", (repo / "params.yaml").read_text()
    )
    (repo / "params.yaml").write_text(params)
    dvc(repo, "repro", "-q")


@pytest.fixture(scope="module")
def real_dvc_gate_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git+DVC repo: tag `weak` trains on x2 only, tag `champion` on x1 and x2 (HEAD)."""
    repo = tmp_path_factory.mktemp("gate") / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "models").mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    _dataset(seed=1).to_csv(repo / "data/train.csv", index=False)
    _dataset(seed=2).to_csv(repo / "data/test.csv", index=False)
    (repo / "train.py").write_text(TRAIN_SCRIPT)
    (repo / "params.yaml").write_text(
        "train:\n  features: [x2]\ngate:\n  label: y\n  test_data: data/test.csv\n"
        "  margins: {roc_auc: 0.01}\n  floors: {roc_auc: 0.6}\n  slice_column: region\n"
    )
    (repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py, data/train.csv]\n"
        "    params: [train.features]\n    outs: [models/model.pkl]\n"
    )
    _train(repo, "[x2]")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "weak model")
    git(repo, "tag", "weak")
    _train(repo, "[x1, x2]")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "champion")
    git(repo, "tag", "champion")
    return repo


@pytest.fixture
def real_dvc_gate_repo(real_dvc_gate_template: Path, tmp_path: Path) -> Path:
    """A private copy of the template repository (tests may change it)."""
    return Path(shutil.copytree(real_dvc_gate_template, tmp_path / "repo", symlinks=True))


def _candidate(repo: Path, features: tuple[str, ...]) -> None:
    """Put a freshly trained candidate in the work tree (what `dvc repro` would leave there)."""
    joblib.dump(_fit(pd.read_csv(repo / "data/train.csv"), features), repo / "models/model.pkl")


def _cached_model(repo: Path, rev: str) -> Path:
    out = model_hash_at(repo, git(repo, "rev-parse", rev).strip(), "models/model.pkl")
    assert out is not None and out.hash_name == "md5"
    return cache_dir_of(repo) / object_relpath(out.md5, legacy=False)


def test_champion_is_read_from_the_cache_at_its_revision_not_the_work_tree(
    real_dvc_gate_repo: Path,
) -> None:
    champion = resolve_champion(real_dvc_gate_repo, explicit_rev="champion")
    assert (
        champion.source == "revision"
        and champion.sha == git(real_dvc_gate_repo, "rev-parse", "HEAD").strip()
    )
    _candidate(real_dvc_gate_repo, ("x2",))  # the work tree now holds a different (weaker) model
    data = champion_model_bytes(real_dvc_gate_repo, champion)
    assert data == _cached_model(real_dvc_gate_repo, "champion").read_bytes()
    assert data != (real_dvc_gate_repo / "models/model.pkl").read_bytes()


def test_the_registry_production_version_is_the_champion(real_dvc_gate_repo: Path) -> None:
    weak = git(real_dvc_gate_repo, "rev-parse", "weak").strip()
    git(real_dvc_gate_repo, "tag", "-a", "credit@v1.0.0", weak, "-m", "register")
    git(real_dvc_gate_repo, "tag", "-a", "credit#prod#1", weak, "-m", "promote")
    champion = resolve_champion(real_dvc_gate_repo, explicit_rev="", params_rev="champion")
    assert champion == Champion(
        sha=weak, source="registry", version="v1.0.0", path="models/model.pkl", rev="credit#prod"
    )
    settings = GateSettings(label="y", test_data="data/test.csv", margins={"roc_auc": 0.0})
    outcome = run_gate(real_dvc_gate_repo, settings)  # the work tree holds the strong model
    assert outcome.report.verdict == "blessed"
    assert outcome.report.champion == {"version": "v1.0.0", "sha": weak, "source": "registry"}
    # An explicit revision still wins over the registry.
    assert resolve_champion(real_dvc_gate_repo, explicit_rev="champion").source == "revision"


def test_a_worse_candidate_is_rejected_and_a_better_one_blessed(real_dvc_gate_repo: Path) -> None:
    from mlpages.settings import read_yaml_section

    settings = gate_settings(read_yaml_section(real_dvc_gate_repo / "params.yaml", "gate"))
    _candidate(real_dvc_gate_repo, ("x2",))
    worse = run_gate(real_dvc_gate_repo, settings, champion_rev="champion")
    assert worse.report.verdict == "rejected" and worse.report.rubber_stamp is False
    assert any(r.startswith("roc_auc ") for r in worse.report.reasons)
    written = json.loads((real_dvc_gate_repo / "reports/gate.json").read_text())
    assert written["verdict"] == "rejected"
    assert written["champion"] == {
        "version": None,
        "sha": git(real_dvc_gate_repo, "rev-parse", "champion").strip(),
        "source": "revision",
    }
    failing = [r for r in written["rules"] if not r["passed"]]
    assert failing[0]["rule"] == "non_inferiority" and failing[0]["metric"] == "roc_auc"
    assert failing[0]["candidate"] < failing[0]["champion"]

    _candidate(real_dvc_gate_repo, ("x1", "x2"))
    better = run_gate(real_dvc_gate_repo, settings, champion_rev="weak")
    assert better.report.verdict == "blessed", better.report.reasons
    assert better.report.champion_metrics["roc_auc"] < better.report.candidate["metrics"]["roc_auc"]
    assert better.report.reasons == ("all 6 rules passed against the champion",)


def test_no_champion_anywhere_is_a_rubber_stamp(real_dvc_gate_repo: Path) -> None:
    settings = GateSettings(label="y", test_data="data/test.csv", floors={"roc_auc": 0.6})
    outcome = run_gate(real_dvc_gate_repo, settings)
    assert outcome.champion is None and outcome.report.rubber_stamp
    assert outcome.report.verdict == "blessed"
    assert "rubber stamp" in outcome.report.reasons[0]


def test_bad_gate_inputs_are_one_line_errors(real_dvc_gate_repo: Path) -> None:
    settings = GateSettings(label="y", test_data="data/test.csv")
    with pytest.raises(DataError, match="model file not found"):
        run_gate(real_dvc_gate_repo, settings, model_path=real_dvc_gate_repo / "models/none.pkl")
    with pytest.raises(DataError, match="no column 'target'"):
        run_gate(real_dvc_gate_repo, GateSettings(label="target", test_data="data/test.csv"))
    (real_dvc_gate_repo / "models/model.pkl").write_bytes(b"garbage")
    broken = run_gate(real_dvc_gate_repo, settings)  # a candidate that does not load is rejected
    assert broken.report.verdict == "rejected"
    assert [r.rule for r in broken.report.rules if not r.passed] == ["loads", "finite_predictions"]
    assert "cannot load the model" in broken.report.reasons[1]


def test_champion_missing_from_cache_or_lock_is_a_clear_error(real_dvc_gate_repo: Path) -> None:
    champion = resolve_champion(real_dvc_gate_repo, explicit_rev="champion")
    _cached_model(real_dvc_gate_repo, "champion").unlink()
    with pytest.raises(DataError, match="not in the DVC cache; run `dvc fetch`"):
        champion_model_bytes(real_dvc_gate_repo, champion)
    elsewhere = Champion(sha=champion.sha, source="revision", path="models/other.pkl")
    with pytest.raises(DataError, match="is not a DVC output at that commit"):
        champion_model_bytes(real_dvc_gate_repo, elsewhere)
    with pytest.raises(DataError, match="is not a commit"):
        resolve_champion(real_dvc_gate_repo, explicit_rev="no-such-tag")


def test_cli_fail_on_reject_exit_code(real_dvc_gate_repo: Path) -> None:
    _candidate(real_dvc_gate_repo, ("x2",))
    command = [sys.executable, "-m", "mlpages", "gate", "--champion-rev", "champion"]
    hard = subprocess.run(
        [*command, "--fail-on-reject"], cwd=real_dvc_gate_repo, capture_output=True, text=True
    )
    assert hard.returncode == 3
    assert "gate: REJECTED vs champion champion" in hard.stderr
    assert hard.stderr.strip().splitlines()[-1].startswith("mlpages: error: candidate rejected: ")
    assert "Traceback" not in hard.stderr
    assert (
        json.loads((real_dvc_gate_repo / "reports/gate.json").read_text())["verdict"] == "rejected"
    )


@pytest.mark.xdist_group("s3")
def test_a_fresh_clone_reads_the_champion_from_the_dvc_remote(
    real_dvc_gate_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.s3server import start_s3_server

    server = start_s3_server(tmp_path)
    try:
        server.client().create_bucket(Bucket="gate-remote")
        for key, value in server.credentials.items():
            monkeypatch.setenv(key, value)
        (real_dvc_gate_repo / ".dvc" / "config").write_text(
            "[core]\n    remote = storage\n    analytics = false\n"
            "['remote \"storage\"']\n    url = s3://gate-remote/store\n"
        )
        local = f"['remote \"storage\"']\n    endpointurl = {server.endpoint}\n"
        (real_dvc_gate_repo / ".dvc" / "config.local").write_text(local)
        git(real_dvc_gate_repo, "add", ".dvc/config")
        git(real_dvc_gate_repo, "commit", "-q", "-m", "remote")
        dvc(real_dvc_gate_repo, "push", "-q", "--all-commits")
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(real_dvc_gate_repo), str(clone))
        (clone / ".dvc" / "config.local").write_text(local)
        assert not (clone / ".dvc" / "cache").exists()
        _candidate(clone, ("x2",))
        settings = GateSettings(label="y", test_data="data/test.csv", margins={"roc_auc": 0.01})
        outcome = run_gate(clone, settings, champion_rev="champion")
    finally:
        server.stop()
    assert outcome.report.verdict == "rejected"  # the champion was found, loaded and scored
    assert (
        outcome.report.champion_metrics["roc_auc"] > outcome.report.candidate["metrics"]["roc_auc"]
    )


class _Poison:
    """Unpickling this creates ``marker``: code of the attacker's choosing runs at load time."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _poisoned_pickle(marker: Path) -> bytes:
    return pickle.dumps(_Poison(marker))


def test_the_poison_runs_when_unpickled(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    pickle.loads(_poisoned_pickle(probe)).close()
    assert probe.exists()  # so the refusals below are what keeps it from running


def _promote_weak(repo: Path) -> str:
    weak = git(repo, "rev-parse", "weak").strip()
    git(repo, "tag", "-a", "credit@v1.0.0", weak, "-m", "register")
    git(repo, "tag", "-a", "credit#prod#1", weak, "-m", "promote")
    return weak


def test_a_poisoned_champion_in_the_cache_is_refused_before_unpickling(
    real_dvc_gate_repo: Path, tmp_path: Path
) -> None:
    from mlpages.ct.monitor_run import production_model

    _promote_weak(real_dvc_gate_repo)
    marker = tmp_path / "pwned"
    cached = _cached_model(real_dvc_gate_repo, "weak")
    cached.chmod(0o644)  # DVC leaves cache files read-only
    cached.write_bytes(_poisoned_pickle(marker))
    proc = subprocess.run(
        [sys.executable, "-m", "mlpages", "gate"],
        cwd=real_dvc_gate_repo,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("mlpages: error: champion v1.0.0 (")
    assert "models/model.pkl" in line and "refusing to unpickle it" in line
    md5 = model_hash_at(
        real_dvc_gate_repo, git(real_dvc_gate_repo, "rev-parse", "weak").strip(), "models/model.pkl"
    ).md5
    assert md5 in line
    assert not marker.exists()

    with pytest.raises(ObjectMismatch, match="refusing to unpickle it"):
        production_model(real_dvc_gate_repo, Path("models/model.pkl"), ())
    assert not marker.exists()


@pytest.mark.xdist_group("s3")
def test_a_poisoned_champion_in_the_bucket_is_refused_before_unpickling(
    real_dvc_gate_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpers.s3server import start_s3_server

    weak = _promote_weak(real_dvc_gate_repo)
    marker = tmp_path / "pwned"
    server = start_s3_server(tmp_path)
    try:
        server.client().create_bucket(Bucket="gate-remote")
        for key, value in server.credentials.items():
            monkeypatch.setenv(key, value)
        (real_dvc_gate_repo / ".dvc" / "config").write_text(
            "[core]\n    remote = storage\n    analytics = false\n"
            "['remote \"storage\"']\n    url = s3://gate-remote/store\n"
        )
        local = f"['remote \"storage\"']\n    endpointurl = {server.endpoint}\n"
        (real_dvc_gate_repo / ".dvc" / "config.local").write_text(local)
        git(real_dvc_gate_repo, "add", ".dvc/config")
        git(real_dvc_gate_repo, "commit", "-q", "-m", "remote")
        dvc(real_dvc_gate_repo, "push", "-q", "--all-commits")
        md5 = model_hash_at(real_dvc_gate_repo, weak, "models/model.pkl").md5
        server.client().put_object(
            Bucket="gate-remote",
            Key=f"store/{object_relpath(md5, legacy=False)}",
            Body=_poisoned_pickle(marker),
        )
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(real_dvc_gate_repo), str(clone))
        (clone / ".dvc" / "config.local").write_text(local)
        assert not (clone / ".dvc" / "cache").exists()
        champion = resolve_champion(clone)
        assert champion is not None and champion.version == "v1.0.0"
        with pytest.raises(ObjectMismatch, match=f"md5 {md5}.*refusing to unpickle it"):
            champion_model_bytes(clone, champion)
        _candidate(clone, ("x2",))
        settings = GateSettings(label="y", test_data="data/test.csv")
        with pytest.raises(ObjectMismatch):
            run_gate(clone, settings)
    finally:
        server.stop()
    assert not marker.exists()
    fetched = clone / ".dvc" / "tmp" / "mlpages-remote" / object_relpath(md5, legacy=False)
    assert not fetched.exists()
