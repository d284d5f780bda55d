"""The statistics of one monitored batch: pure functions of scores, labels and frames.

Prediction histogram (fixed edges) and PSI, real metrics of a labelled batch (its 0/1 labels), a
label-free estimate when labels have not arrived, the batch's numeric columns coerced like the
reference's, per-feature drift on one normalised scale (the tests and distances of
:mod:`mlpages.ct.drift`), and the week number of a batch name.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from mlpages.ct.drift import DriftSettings, detect_drift, psi_numeric
from mlpages.ct.schema import infer_schema

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

HIST_EDGES: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))
# Normalised drift scores are capped so that "p = 0" or an infinite distance stays a number a
# heatmap can colour (JSON has no infinity).
MAX_DRIFT_SCORE = 1000.0
_WEEK = re.compile(r"(\d+)(?!.*\d)")


def prediction_histogram(scores: np.ndarray, edges: tuple[float, ...] = HIST_EDGES) -> list[int]:
    """Counts of scores per bin of the fixed ``edges`` (the last bin includes 1.0)."""
    import numpy as np

    counts, _ = np.histogram(np.asarray(scores, dtype=float), bins=np.asarray(edges))
    return [int(c) for c in counts]


def prediction_psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of the batch's scores vs. the reference's (ct.drift's PSI)."""
    import numpy as np

    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if reference.size == 0 or current.size == 0:
        return float("nan")
    return psi_numeric(reference, current, bins)


def performance_metrics(
    labels: np.ndarray, scores: np.ndarray, cutoff: float = 0.5
) -> dict[str, float]:
    """Real metrics of a labelled batch: roc_auc, accuracy, f1, log_loss, brier, ...."""
    import numpy as np
    from sklearn import metrics

    y = np.asarray(labels, dtype=int)
    p = np.clip(np.asarray(scores, dtype=float), 1e-7, 1 - 1e-7)
    predicted = (p >= cutoff).astype(int)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(metrics.roc_auc_score(y, p)) if both else float("nan"),
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "f1": float(metrics.f1_score(y, predicted, zero_division=0)),
        "precision": float(metrics.precision_score(y, predicted, zero_division=0)),
        "recall": float(metrics.recall_score(y, predicted, zero_division=0)),
        "log_loss": float(metrics.log_loss(y, p, labels=[0, 1])),
        "brier": float(metrics.brier_score_loss(y, p)),
        "positive_rate": float(y.mean()),
    }


def label_free_estimate(scores: np.ndarray, cutoff: float = 0.5) -> dict[str, float]:
    """Label-free estimates, valid for a calibrated model: confidence (= expected accuracy)."""
    import numpy as np

    p = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    confident = np.where(p >= cutoff, p, 1.0 - p)
    return {
        "confidence": float(confident.mean()),
        "expected_accuracy": float(confident.mean()),
        "expected_positive_rate": float(p.mean()),
    }


def binary_labels(batch: pd.DataFrame, label: str) -> np.ndarray | None:
    """The 0/1 labels of the batch, or None when some are missing (not arrived) or not 0/1."""
    import pandas as pd

    if label not in batch.columns or len(batch) == 0 or batch[label].isna().any():
        return None
    values = pd.to_numeric(batch[label], errors="coerce")
    if values.isna().any() or not values.isin([0, 1]).all():
        return None
    return values.to_numpy(dtype=int)


def coerce_like(
    batch: pd.DataFrame, reference: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Coerce the batch's numeric columns to numbers; also return the share of bad values."""
    import pandas as pd

    batch = batch.copy()
    bad: dict[str, float] = {}
    for column in reference.columns:
        if not pd.api.types.is_numeric_dtype(reference[column]):
            continue
        values = pd.to_numeric(batch[column], errors="coerce")
        wrong = int((values.isna() & batch[column].notna()).sum())
        bad[column] = wrong / max(len(batch), 1)
        batch[column] = values
    return batch, bad


def week_of(batch_name: str) -> int | None:
    """The week number in a batch name (``week_07.csv`` -> 7), if there is one."""
    match = _WEEK.search(Path(batch_name).stem)
    return int(match.group(1)) if match else None


def feature_drift(
    reference: pd.DataFrame, batch: pd.DataFrame, settings: DriftSettings
) -> tuple[dict[str, float], list[str], float]:
    """Per-feature normalised drift scores, the drifted features and their share (ct.drift)."""
    report = detect_drift(reference, batch, infer_schema([reference]), settings)
    scores = {
        f.feature: normalised_score(f.statistic, f.p_value, f.threshold) for f in report.features
    }
    return scores, list(report.drifted), float(report.share_drifted)


def normalised_score(statistic: float, p_value: float | None, threshold: float) -> float:
    """One scale for every drift method: 1.0 is the threshold, above 1 means drifted.

    Distances (Wasserstein, Jensen–Shannon, PSI): statistic / threshold. Tests (KS, chi-squared):
    log(p) / log(alpha), so p = alpha scores 1 and smaller p-values score higher. Capped at
    :data:`MAX_DRIFT_SCORE`.
    """
    if p_value is not None:
        if not 0 < threshold < 1 or math.isnan(p_value):
            return 0.0
        score = math.log(max(p_value, 1e-300)) / math.log(threshold)
    elif threshold > 0 and not math.isnan(statistic):
        score = statistic / threshold
    else:
        score = MAX_DRIFT_SCORE if statistic > 0 else 0.0
    return min(score, MAX_DRIFT_SCORE)
