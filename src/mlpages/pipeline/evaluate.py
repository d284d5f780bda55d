"""Stage ``evaluate``: metrics on train and test, per-slice test metrics, and the DVC plots data."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpages.errors import DataError
from mlpages.pipeline.common import (
    CONFUSION,
    IMPORTANCE,
    METRICS,
    MODEL,
    PRC,
    ROC,
    SLICES,
    TEST,
    TRAIN,
    DataSpec,
    read_csv,
    read_params,
    write_csv,
    write_json,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CURVE_POINTS = 200


@dataclass(frozen=True)
class Evaluation:
    """Everything the stage writes: metrics, slice metrics and the plot tables."""

    metrics: dict[str, dict[str, float]]
    slices: dict[str, dict[str, dict[str, float | int | None]]]
    roc: pd.DataFrame
    prc: pd.DataFrame
    confusion: pd.DataFrame
    importance: pd.DataFrame


def predict_scores(model: Any, frame: pd.DataFrame, spec: DataSpec) -> np.ndarray:
    """Probability of the positive class for every row."""
    return model.predict_proba(frame[list(spec.features)])[:, 1]


def classification_metrics(y: Any, scores: Any, threshold: float) -> dict[str, float]:
    """accuracy, roc_auc, f1, log_loss, precision, recall (NaN where undefined, e.g. one class)."""
    import numpy as np
    from sklearn import metrics

    y = np.asarray(y, dtype=int)
    predicted = (np.asarray(scores) >= threshold).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "roc_auc": float(metrics.roc_auc_score(y, scores)) if both else float("nan"),
        "f1": float(metrics.f1_score(y, predicted, zero_division=0)),
        "log_loss": float(metrics.log_loss(y, scores, labels=[0, 1])) if len(y) else float("nan"),
        "precision": float(metrics.precision_score(y, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, zero_division=0)),
    }


def slice_metrics(
    frame: pd.DataFrame, scores: Any, spec: DataSpec, column: str, threshold: float
) -> dict[str, dict[str, float | int | None]]:
    """Test metrics per value of ``column`` (missing values as "missing"), with row counts."""
    import numpy as np

    if column not in frame.columns:
        raise DataError(f"evaluate.slice_column {column!r} is not a column of the test data")
    keys = frame[column].astype(object).where(frame[column].notna(), "missing").astype(str)
    scores = np.asarray(scores)
    result: dict[str, dict[str, float | int | None]] = {}
    for value in sorted(keys.unique()):
        mask = (keys == value).to_numpy()
        y = frame.loc[mask, spec.target].to_numpy()
        values = classification_metrics(y, scores[mask], threshold)
        result[value] = {
            "rows": int(mask.sum()),
            "positive_rate": round(float(y.mean()), 6),
            **{k: _round(v) for k, v in values.items()},
        }
    return result


def _round(value: float) -> float | None:
    import math

    return round(value, 6) if math.isfinite(value) else None


def _thin(table: pd.DataFrame) -> pd.DataFrame:
    """At most MAX_CURVE_POINTS rows, first and last kept, values rounded."""
    import numpy as np

    if len(table) > MAX_CURVE_POINTS:
        index = np.unique(np.linspace(0, len(table) - 1, MAX_CURVE_POINTS).round().astype(int))
        table = table.iloc[index]
    return table.round(4).drop_duplicates().reset_index(drop=True)


def curves(y: Any, scores: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ROC (fpr, tpr) and precision-recall (recall, precision) curves, thinned for plotting."""
    import pandas as pd
    from sklearn import metrics

    fpr, tpr, _ = metrics.roc_curve(y, scores)
    precision, recall, _ = metrics.precision_recall_curve(y, scores)
    roc = _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr}))
    prc = _thin(pd.DataFrame({"recall": recall, "precision": precision}).iloc[::-1])
    return roc, prc


def feature_importance(
    model: Any, frame: pd.DataFrame, spec: DataSpec, repeats: int, seed: int
) -> pd.DataFrame:
    """Permutation importance (drop in test ROC AUC) of each input column, largest first."""
    import pandas as pd
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        model,
        frame[list(spec.features)],
        frame[spec.target].astype(int),
        scoring="roc_auc",
        n_repeats=repeats,
        random_state=seed,
    )
    table = pd.DataFrame({"feature": list(spec.features), "importance": result.importances_mean})
    table["importance"] = table["importance"].round(6)
    return table.sort_values(["importance", "feature"], ascending=[False, True]).reset_index(
        drop=True
    )


def evaluate_model(
    model: Any, train: pd.DataFrame, test: pd.DataFrame, spec: DataSpec, params: dict[str, Any]
) -> Evaluation:
    """Score ``model`` on both sets and compute every report of the stage."""
    import pandas as pd

    if test[spec.target].nunique() < 2:
        raise DataError(f"the test set has a single class of {spec.target!r}: ROC AUC is undefined")
    threshold = float(params.get("threshold", 0.5))
    train_scores = predict_scores(model, train, spec)
    test_scores = predict_scores(model, test, spec)
    y_test = test[spec.target].astype(int)
    metrics = {
        "train": {
            k: _round(v)
            for k, v in classification_metrics(train[spec.target], train_scores, threshold).items()
        },
        "test": {
            k: _round(v) for k, v in classification_metrics(y_test, test_scores, threshold).items()
        },
    }
    column = str(params.get("slice_column", ""))
    slices = {column: slice_metrics(test, test_scores, spec, column, threshold)} if column else {}
    roc, prc = curves(y_test, test_scores)
    confusion = pd.DataFrame(
        {"actual": y_test.to_numpy(), "predicted": (test_scores >= threshold).astype(int)}
    )
    importance = feature_importance(
        model, test, spec, int(params.get("importance_repeats", 5)), int(params.get("seed", 0))
    )
    return Evaluation(metrics, slices, roc, prc, confusion, importance)


def write_evaluation(evaluation: Evaluation) -> None:
    """Write reports/metrics.json, reports/slices.json and reports/plots/*.csv."""
    write_json(evaluation.metrics, METRICS)
    write_json(evaluation.slices, SLICES)
    write_csv(evaluation.roc, ROC)
    write_csv(evaluation.prc, PRC)
    write_csv(evaluation.confusion, CONFUSION)
    write_csv(evaluation.importance, IMPORTANCE)


def load_model(path: Any = MODEL) -> Any:
    """Unpickle the model written by the train stage."""
    import joblib

    if not path.exists():
        raise DataError(f"{path} not found (run the train stage first)")
    return joblib.load(path)


def main() -> None:
    """Read params (evaluate, data), write the metrics, slices and plots."""
    params = read_params("evaluate")
    spec = DataSpec.from_params(read_params("data"))
    evaluation = evaluate_model(load_model(), read_csv(TRAIN), read_csv(TEST), spec, params)
    write_evaluation(evaluation)
    test = evaluation.metrics["test"]
    print(f"evaluate: test roc_auc={test['roc_auc']} f1={test['f1']}", file=sys.stderr)


if __name__ == "__main__":
    from mlpages.pipeline.cli import run

    run(main)
