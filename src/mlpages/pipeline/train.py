"""Stage ``train``: one scikit-learn Pipeline, preprocessing included, so serving cannot skew.

Numeric columns: coerced to numbers (±inf as missing), median-imputed, standardised, clipped to
±10 standard deviations. Categorical columns: missing as "missing", one-hot with unknown categories
ignored. Then the model named by ``train.model`` with its hyperparameters from ``train.<model>``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from mlpages.errors import ConfigError, DataError
from mlpages.pipeline.common import MODEL, TRAIN, DataSpec, read_csv, read_params
from mlpages.pipeline.features import clip_scaled, to_finite, to_text

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

MODELS = ("logistic_regression", "random_forest", "gradient_boosting")


def make_estimator(name: str, hyperparameters: dict[str, Any], seed: int) -> Any:
    """The classifier ``name`` with ``hyperparameters`` (a clear error for unknown ones)."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    classes = {
        "logistic_regression": LogisticRegression,
        "random_forest": RandomForestClassifier,
        "gradient_boosting": GradientBoostingClassifier,
    }
    if name not in classes:
        raise ConfigError(f"train.model must be one of {', '.join(MODELS)}, got {name!r}")
    try:
        return classes[name](**hyperparameters, random_state=seed)
    except TypeError as exc:
        raise ConfigError(f"train.{name}: {exc}") from None


def build_pipeline(spec: DataSpec, estimator: Any) -> Pipeline:
    """Preprocessing (ColumnTransformer) and the estimator in one Pipeline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = Pipeline(
        [
            ("finite", FunctionTransformer(to_finite, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("clip", FunctionTransformer(clip_scaled, feature_names_out="one-to-one")),
        ]
    )
    categorical = Pipeline(
        [
            ("text", FunctionTransformer(to_text, feature_names_out="one-to-one")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, list(spec.numeric)),
            ("categorical", categorical, list(spec.categorical)),
        ],
        remainder="drop",
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


def train_model(train: pd.DataFrame, spec: DataSpec, params: dict[str, Any]) -> Pipeline:
    """Fit the pipeline configured by the ``train`` params on ``train``."""
    missing = [c for c in (*spec.features, spec.target) if c not in train.columns]
    if missing:
        raise DataError(f"training data lacks columns {missing}")
    if train[spec.target].nunique() < 2:
        raise DataError(f"training data has a single class of {spec.target!r}: cannot train")
    name = str(params.get("model", ""))
    estimator = make_estimator(name, dict(params.get(name) or {}), int(params.get("seed", 0)))
    pipeline = build_pipeline(spec, estimator)
    return pipeline.fit(train[list(spec.features)], train[spec.target].astype(int))


def save_model(model: Pipeline, path: Any = MODEL) -> None:
    """Pickle the fitted pipeline with joblib."""
    import joblib

    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)


def main() -> None:
    """Read params (train, data), write models/model.pkl."""
    params = read_params("train")
    spec = DataSpec.from_params(read_params("data"))
    train = read_csv(TRAIN)
    model = train_model(train, spec, params)
    save_model(model)
    print(f"train: {params.get('model')} fitted on {len(train)} rows -> {MODEL}", file=sys.stderr)


if __name__ == "__main__":
    from mlpages.pipeline.cli import run

    run(main)
