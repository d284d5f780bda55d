"""The model gate: may the candidate replace the champion? Both are scored on the same test data.

The rules and the verdict are pure functions in :mod:`mlpages.ct.gate_rules`; this module is the
edge: it loads the candidate (and probes it in a fresh process), resolves and loads the champion
(:mod:`mlpages.ct.champion`), scores both, and writes ``reports/gate.json``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.config import Config, load_config
from mlpages.ct.batches import read_batch
from mlpages.ct.champion import Champion, champion_model_bytes, resolve_champion
from mlpages.ct.gate_rules import (
    METRICS,
    GateSettings,
    RuleResult,
    Scores,
    decide,
    score_predictions,
)
from mlpages.errors import DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class GateReport:
    """The content of ``reports/gate.json``."""

    verdict: str  # blessed | rejected
    rubber_stamp: bool
    champion: dict[str, Any] | None
    candidate: dict[str, Any]
    champion_metrics: dict[str, float] | None
    rules: tuple[RuleResult, ...]
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        rules = [
            {
                "rule": r.rule,
                "metric": r.metric,
                "slice": r.slice,
                "candidate": _json_number(r.candidate),
                "champion": _json_number(r.champion),
                "threshold": _json_number(r.threshold),
                "passed": r.passed,
                "reason": r.reason,
            }
            for r in self.rules
        ]
        return {
            "verdict": self.verdict,
            "rubber_stamp": self.rubber_stamp,
            "champion": self.champion,
            "candidate": _json_tree(self.candidate),
            "champion_metrics": _json_tree(self.champion_metrics),
            "rules": rules,
            "reasons": list(self.reasons),
        }


def _json_number(value: float | None) -> float | None:
    # NaN/Inf are not JSON; the sentence in "reason" says what happened.
    return value if value is None or math.isfinite(value) else None


def _json_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_tree(v) for k, v in value.items()}
    if isinstance(value, float):
        return _json_number(value)
    return value


# --- models in and out of process (I/O edge) -----------------------------------------------------

_PROBE = """
import json, sys
import joblib, numpy as np, pandas as pd
model = joblib.load(sys.argv[1])
frame = pd.read_csv(sys.argv[2])
columns = getattr(model, "feature_names_in_", None)
if columns is not None:
    frame = frame[list(columns)]
if hasattr(model, "predict_proba"):
    scores = np.asarray(model.predict_proba(frame))[:, -1]
else:
    scores = np.asarray(model.predict(frame), dtype=float)
print(json.dumps([float(s) for s in scores]))
"""


def load_model_file(path: Path) -> Any:
    """Unpickle a model (joblib or plain pickle); failures are a one-line error."""
    import joblib

    if not path.is_file():
        raise DataError(f"{path}: model file not found")
    try:
        return joblib.load(path)
    except Exception as exc:  # a broken pickle can raise almost anything
        raise DataError(f"{path}: cannot load the model: {type(exc).__name__}: {exc}") from None


def load_model_bytes(data: bytes, label: str) -> Any:
    """Unpickle a model given as bytes (the champion from the DVC cache)."""
    with tempfile.TemporaryDirectory(prefix="mlpages-gate-") as tmp:
        path = Path(tmp) / "champion.pkl"
        path.write_bytes(data)
        try:
            return load_model_file(path)
        except DataError as exc:
            raise DataError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None


def predict_scores(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Positive-class scores (predict_proba's last column, else predict) as floats."""
    import numpy as np

    columns = getattr(model, "feature_names_in_", None)
    features = frame[list(columns)] if columns is not None else frame
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(features), dtype=float)[:, -1]
    return np.asarray(model.predict(features), dtype=float)


def probe_in_fresh_process(model_path: Path, requests: pd.DataFrame, timeout: float) -> RuleResult:
    """Load the model in a new Python process and score the canned requests."""
    with tempfile.TemporaryDirectory(prefix="mlpages-probe-") as tmp:
        request_file = Path(tmp) / "requests.csv"
        requests.to_csv(request_file, index=False)
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _PROBE, str(model_path), str(request_file)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return RuleResult("loads", False, f"the model did not answer within {timeout:g} s")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        return RuleResult("loads", False, f"the model failed in a fresh process: {last}")
    try:
        answers = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return RuleResult("loads", False, "the fresh process printed no predictions")
    if len(answers) != len(requests):
        return RuleResult(
            "loads", False, f"{len(answers)} answers to {len(requests)} canned requests"
        )
    if not all(isinstance(a, float) and math.isfinite(a) for a in answers):
        return RuleResult("loads", False, "the fresh process returned NaN/Inf for canned requests")
    return RuleResult(
        "loads",
        True,
        f"loads in a fresh process and answers {len(requests)} canned requests",
    )


@dataclass(frozen=True)
class GateOutcome:
    report: GateReport
    champion: Champion | None
    written: Path


def score_model(model: Any, frame: pd.DataFrame, settings: GateSettings) -> Scores:
    """Score a loaded model on the test data; a model that cannot predict gets an error."""
    try:
        raw = predict_scores(model, frame)
    except Exception as exc:  # a model that cannot score the data fails the gate, not the tool
        metrics = {name: math.nan for name in METRICS}
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return Scores(metrics, non_finite=len(frame), error=f"{type(exc).__name__}: {first}")
    labels = frame[settings.label].to_numpy()
    slices = frame[settings.slice_column] if settings.slice_column else None
    return score_predictions(labels, raw, settings.threshold, slices, settings.slice_metric)


def run_gate(
    repo: Path,
    settings: GateSettings,
    *,
    model_path: Path | None = None,
    test_path: Path | None = None,
    report_path: Path | None = None,
    champion_rev: str = "",
    config: Config | None = None,
) -> GateOutcome:
    """Score candidate and champion on the test data, decide, write ``reports/gate.json``."""
    config = config or load_config(repo)
    candidate_file = model_path or repo / settings.model
    test = read_batch(test_path or repo / settings.test_data)
    for column in (settings.label, settings.slice_column):
        if column and column not in test.columns:
            raise DataError(f"{test_path or settings.test_data}: no column {column!r}")
    champion = resolve_champion(
        repo,
        explicit_rev=champion_rev,
        params_rev=settings.champion_rev,
        artifact=settings.artifact or config.model_artifact,
        stage=settings.stage or config.production_stage,
        model_path=settings.model,
    )
    if not candidate_file.is_file():
        raise DataError(f"{candidate_file}: model file not found")
    if isinstance(settings.canned_requests, str):
        requests = read_batch(repo / settings.canned_requests)
    else:
        requests = test.head(max(settings.canned_requests, 1))
    requests = requests.drop(columns=[settings.label], errors="ignore")
    load_rule = probe_in_fresh_process(candidate_file, requests, settings.load_timeout)
    try:
        candidate_scores = score_model(load_model_file(candidate_file), test, settings)
    except DataError as exc:  # a candidate that does not load is rejected, not a tool error
        nan = dict.fromkeys(METRICS, math.nan)
        candidate_scores = Scores(nan, non_finite=len(test), error=str(exc))
    champion_scores = None
    if champion is not None:
        data = champion_model_bytes(repo, champion)
        champion_model = load_model_bytes(data, f"champion {champion.label}")
        champion_scores = score_model(champion_model, test, settings)
    verdict, rubber, rules, reasons = decide(
        candidate_scores, champion_scores, load_rule, len(test), settings, config
    )
    report = GateReport(
        verdict=verdict,
        rubber_stamp=rubber,
        champion=None if champion is None else champion.to_json(),
        candidate={"metrics": candidate_scores.metrics, "slices": candidate_scores.slices},
        champion_metrics=None if champion_scores is None else champion_scores.metrics,
        rules=rules,
        reasons=reasons,
    )
    out = report_path or repo / settings.report
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return GateOutcome(report, champion, out)


def summary_text(outcome: GateOutcome) -> str:
    """A readable verdict for stderr."""
    report = outcome.report
    against = (
        "no champion (rubber stamp)"
        if outcome.champion is None
        else f"champion {outcome.champion.label} ({outcome.champion.sha[:12]})"
    )
    lines = [f"gate: {report.verdict.upper()} vs {against}"]
    for rule in report.rules:
        lines.append(f"  {'ok  ' if rule.passed else 'FAIL'} {rule.rule:<17} {rule.reason}")
    return "\n".join(lines)
