"""Per-feature drift between a reference (the training window) and a new batch.

Small samples use statistical tests (KS for numeric, chi-squared for categorical: drift when
p < ``p_value``); large samples, where any test finds a "significant" but harmless difference,
use distances (Wasserstein normalised by the reference std, Jensen–Shannon distance: drift when
above a threshold). PSI is available on request. The dataset drifts when the share of drifted
features reaches ``share``. Drift is reported, never fatal.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlpages.settings import load_section, setting

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlpages.ct.schema import Schema

NUMERIC_METHODS = ("auto", "ks", "wasserstein", "psi")
CATEGORICAL_METHODS = ("auto", "chi2", "jensenshannon", "psi")
PSI_EPSILON = 1e-4  # floor of a bin share so an empty bin does not make PSI infinite


@dataclass(frozen=True)
class DriftSettings:
    """The ``validate.drift`` (and ``monitor.drift``) section of params.yaml."""

    numeric: str = setting(
        "auto",
        choices=NUMERIC_METHODS,
        help="Method for numeric features: auto (ks up to large_sample rows, wasserstein above), "
        "ks, wasserstein or psi.",
    )
    categorical: str = setting(
        "auto",
        choices=CATEGORICAL_METHODS,
        help="Method for categorical features: auto (chi2 up to large_sample rows, jensenshannon "
        "above), chi2, jensenshannon or psi.",
    )
    large_sample: int = setting(
        1000,
        minimum=0,
        help="auto: above this many rows in the smaller sample, distances replace tests.",
    )
    p_value: float = setting(0.05, minimum=0, help="Tests (ks, chi2): drift when p < this.")
    wasserstein: float = setting(
        0.1, minimum=0, help="Drift when the distance exceeds this many reference stds."
    )
    jensenshannon: float = setting(
        0.1, minimum=0, help="Drift when the Jensen–Shannon distance (0..1) exceeds this."
    )
    psi: float = setting(0.2, minimum=0, help="Drift when the PSI exceeds this.")
    bins: int = setting(10, minimum=1, help="Bins of the numeric PSI (reference quantiles).")
    share: float = setting(
        0.5, minimum=0, help="The dataset drifts when this share of the features drifted."
    )
    features: tuple[str, ...] = setting(
        (), help="Features to measure; empty: every numeric/categorical schema column."
    )
    exclude: tuple[str, ...] = setting((), help="Features never measured (the label, ids).")


@dataclass(frozen=True)
class FeatureDrift:
    """The drift measurement of one feature."""

    feature: str
    kind: str  # numeric | categorical
    method: str  # ks | chi2 | wasserstein | jensenshannon | psi
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    """The content of ``reports/drift.json``."""

    batch: str
    reference: str
    share_drifted: float
    dataset_drift: bool
    features: tuple[FeatureDrift, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (feature, why)

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.drifted)

    def to_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "reference": self.reference,
            "share_drifted": self.share_drifted,
            "dataset_drift": self.dataset_drift,
            "features": [_finite_json(asdict(f)) for f in self.features],
            "skipped": [{"feature": f, "reason": why} for f, why in self.skipped],
        }


def _finite_json(entry: dict[str, Any]) -> dict[str, Any]:
    # Strict JSON readers choke on Infinity: an infinite distance is reported as a large number.
    value = entry["statistic"]
    if isinstance(value, float) and math.isinf(value):
        entry["statistic"] = 1e300 if value > 0 else -1e300
    return entry


def drift_settings(raw: Any, source: str = "params.yaml") -> DriftSettings:
    """Build :class:`DriftSettings` from ``validate.drift`` params (unknown keys are errors)."""
    return load_section(DriftSettings, raw, source, "validate.drift")


# --- statistics (pure, numpy/scipy) -------------------------------------------------------------


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value."""
    from scipy import stats

    result = stats.ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def wasserstein_normalised(reference: np.ndarray, current: np.ndarray) -> float:
    """Wasserstein-1 distance divided by the reference standard deviation."""
    import numpy as np
    from scipy import stats

    distance = float(stats.wasserstein_distance(reference, current))
    scale = float(np.std(reference))
    if scale == 0:
        # A constant reference: any move is infinitely many "standard deviations".
        scale = abs(float(np.mean(reference))) or 1.0
        if distance > 0 and float(np.std(current)) == 0 and np.mean(current) != np.mean(reference):
            return math.inf
    return distance / scale


def _aligned_counts(
    reference: pd.Series, current: pd.Series
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import numpy as np

    ref_counts = reference.astype(str).value_counts()
    cur_counts = current.astype(str).value_counts()
    categories = sorted(set(ref_counts.index) | set(cur_counts.index))
    ref = np.array([ref_counts.get(c, 0) for c in categories], dtype=float)
    cur = np.array([cur_counts.get(c, 0) for c in categories], dtype=float)
    return ref, cur, categories


def chi2_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity on two count vectors over the same categories."""
    import numpy as np
    from scipy import stats

    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]])
    if table.shape[1] < 2 or table.sum(axis=1).min() == 0:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def jensenshannon_distance(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen–Shannon distance (base 2, in [0, 1]) between two count vectors."""
    import numpy as np
    from scipy.spatial import distance

    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 1.0 if ref_counts.sum() != cur_counts.sum() else 0.0
    value = float(distance.jensenshannon(ref_counts, cur_counts, base=2))
    return 0.0 if np.isnan(value) else value


def psi_from_shares(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    """Population Stability Index of two share vectors (floored at a small epsilon)."""
    import numpy as np

    ref = np.clip(ref_share, PSI_EPSILON, None)
    cur = np.clip(cur_share, PSI_EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi_numeric(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI with bins at the reference's quantiles (open-ended outer bins)."""
    import numpy as np

    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1))[1:-1])
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    ref_hist = np.histogram(reference, edges)[0] / len(reference)
    cur_hist = np.histogram(current, edges)[0] / len(current)
    return psi_from_shares(ref_hist, cur_hist)


# --- per feature and dataset --------------------------------------------------------------------


def _method(
    chosen: str, sizes: tuple[int, int], settings: DriftSettings, test: str, distance: str
) -> str:
    """``auto``: the statistical test for small samples, the distance for large ones."""
    if chosen != "auto":
        return chosen
    return test if min(sizes) <= settings.large_sample else distance


def _tested(
    name: str, kind: str, method: str, result: tuple[float, float], settings: DriftSettings
) -> FeatureDrift:
    statistic, p = result
    return FeatureDrift(name, kind, method, statistic, p, settings.p_value, p < settings.p_value)


def _measured(name: str, kind: str, method: str, value: float, threshold: float) -> FeatureDrift:
    return FeatureDrift(name, kind, method, value, None, threshold, value > threshold)


def numeric_drift(
    name: str, reference: np.ndarray, current: np.ndarray, settings: DriftSettings
) -> FeatureDrift:
    """Drift of one numeric feature with the method the settings and sample sizes call for."""
    sizes = (len(reference), len(current))
    method = _method(settings.numeric, sizes, settings, "ks", "wasserstein")
    if method == "ks":
        return _tested(name, "numeric", method, ks_test(reference, current), settings)
    if method == "psi":
        value = psi_numeric(reference, current, settings.bins)
        return _measured(name, "numeric", method, value, settings.psi)
    value = wasserstein_normalised(reference, current)
    return _measured(name, "numeric", method, value, settings.wasserstein)


def categorical_drift(
    name: str, reference: pd.Series, current: pd.Series, settings: DriftSettings
) -> FeatureDrift:
    """Drift of one categorical feature (values compared as strings)."""
    ref, cur, _ = _aligned_counts(reference, current)
    sizes = (len(reference), len(current))
    method = _method(settings.categorical, sizes, settings, "chi2", "jensenshannon")
    if method == "chi2":
        return _tested(name, "categorical", method, chi2_test(ref, cur), settings)
    if method == "psi":
        value = psi_from_shares(ref / max(ref.sum(), 1), cur / max(cur.sum(), 1))
        return _measured(name, "categorical", method, value, settings.psi)
    value = jensenshannon_distance(ref, cur)
    return _measured(name, "categorical", method, value, settings.jensenshannon)


def _finite_numbers(series: pd.Series) -> np.ndarray:
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values[np.isfinite(values)]


def detect_drift(
    reference: pd.DataFrame | None,
    current: pd.DataFrame,
    schema: Schema,
    settings: DriftSettings | None = None,
    *,
    batch: str = "",
    reference_name: str = "",
) -> DriftReport:
    """Measure every feature's drift; features that cannot be measured are listed as skipped."""
    settings = settings or DriftSettings()
    if reference is None:
        return DriftReport(batch, "", 0.0, False, (), (("*", "no reference batches"),))
    chosen = settings.features or tuple(
        c.name for c in schema.columns if c.is_numeric or c.type in ("category", "bool")
    )
    results: list[FeatureDrift] = []
    skipped: list[tuple[str, str]] = []
    for name in chosen:
        if name in settings.exclude:
            continue
        column = schema.column(name)
        if column is None:
            skipped.append((name, "not in the schema"))
            continue
        if name not in reference.columns or name not in current.columns:
            side = "reference" if name not in reference.columns else "batch"
            skipped.append((name, f"missing from the {side}"))
            continue
        if column.is_numeric:
            ref = _finite_numbers(reference[name])
            cur = _finite_numbers(current[name])
            if len(ref) < 2 or len(cur) < 2:
                skipped.append((name, "fewer than 2 numeric values"))
                continue
            results.append(numeric_drift(name, ref, cur, settings))
        elif column.type in ("category", "bool"):
            ref_values, cur_values = reference[name].dropna(), current[name].dropna()
            if len(ref_values) == 0 or len(cur_values) == 0:
                skipped.append((name, "no values"))
                continue
            results.append(categorical_drift(name, ref_values, cur_values, settings))
        else:
            skipped.append((name, f"type {column.type} is not measured"))
    share = sum(f.drifted for f in results) / len(results) if results else 0.0
    return DriftReport(
        batch=batch,
        reference=reference_name,
        share_drifted=round(share, 6),
        dataset_drift=bool(results) and share >= settings.share,
        features=tuple(results),
        skipped=tuple(skipped),
    )


def summary_text(report: DriftReport) -> str:
    """A short human summary of a drift report."""
    if not report.features:
        return f"drift: not measured for {report.batch} (no reference)"
    head = (
        f"drift: {len(report.drifted)}/{len(report.features)} features drifted "
        f"({report.share_drifted:.0%}) in {report.batch} vs {report.reference}"
        + (" — DATASET DRIFT" if report.dataset_drift else "")
    )
    lines = [head]
    for f in report.features:
        if f.drifted:
            p = f" p={f.p_value:.3g}" if f.p_value is not None else ""
            lines.append(
                f"  - {f.feature}: {f.method}={f.statistic:.4g}{p} (threshold {f.threshold:g})"
            )
    return "\n".join(lines)
