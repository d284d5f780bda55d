"""Deterministic generator of weekly loan-application batches with injected drift and breakage.

Every week is drawn from its own seeded stream (``default_rng([seed, week])``), so a week can be
generated alone and regenerating gives byte-identical CSV files. Events (covariate drift, concept
drift, a schema-broken batch) are applied on top of the same random draws, so a drifted week differs
from its stable twin only by what was injected. The ground truth goes to ``events.json``.

    python -m mlpages.pipeline.generate --out data/raw --weeks 16 --truth data/events.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.pipeline.scenarios import (
    SCENARIOS,
    ConceptDrift,
    CovariateDrift,
    Scenario,
    SchemaBreak,
    active_event,
    default_scenario,
    events_for,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

START_DATE = datetime(2024, 1, 1)  # a Monday: week 1 starts here
DEFAULT_SEED = 20240101
DEFAULT_WEEKS = 16

NUMERIC = (
    "income",
    "loan_amount",
    "debt_to_income",
    "credit_score",
    "age",
    "employment_years",
    "num_open_accounts",
)
CATEGORIES: dict[str, dict[str, float]] = {
    "region": {"north": 0.22, "south": 0.26, "east": 0.2, "west": 0.2, "central": 0.12},
    "purpose": {
        "debt_consolidation": 0.34,
        "home_improvement": 0.16,
        "car": 0.18,
        "education": 0.1,
        "business": 0.1,
        "medical": 0.12,
    },
    "home_ownership": {"rent": 0.4, "mortgage": 0.42, "own": 0.18},
    "employment_type": {
        "salaried": 0.62,
        "self_employed": 0.14,
        "contract": 0.16,
        "unemployed": 0.08,
    },
}
CATEGORICAL = tuple(CATEGORIES)
TARGET = "default"
TIMESTAMP = "application_date"
COLUMNS = (TIMESTAMP, *NUMERIC, *CATEGORICAL, TARGET)

# The true logistic model: intercept, weights on standardised numeric features, category effects.
INTERCEPT = -2.2
WEIGHTS: dict[str, float] = {
    "credit_score": -0.95,
    "debt_to_income": 0.75,
    "loan_to_income": 0.45,
    "income": -0.3,
    "employment_years": -0.25,
    "age": -0.15,
    "num_open_accounts": 0.15,
}
EFFECTS: dict[str, dict[str, float]] = {
    "purpose": {"business": 0.45, "medical": 0.3, "education": 0.2, "car": -0.15},
    "home_ownership": {"rent": 0.3, "own": -0.25},
    "employment_type": {"unemployed": 0.7, "contract": 0.3, "self_employed": 0.2},
    "region": {"south": 0.1, "west": -0.1},
}


def _draw_category(u: Any, probabilities: dict[str, float]) -> Any:
    import numpy as np

    names = list(probabilities)
    p = np.array([probabilities[n] for n in names], dtype=float)
    edges = np.cumsum(p / p.sum())
    index = np.minimum(np.searchsorted(edges, u, side="right"), len(names) - 1)
    return np.array(names, dtype=object)[index]


@dataclass(frozen=True)
class _Draws:
    """Every random draw of one week, in one fixed order: events change what is made of them."""

    z: np.ndarray  # (rows, 6) standard normals behind the numeric features
    categories: dict[str, np.ndarray]  # one uniform per categorical column
    label: np.ndarray  # uniform compared with the default probability
    null_income: np.ndarray  # uniforms that blank income ...
    null_employment: np.ndarray  # ... and employment_years
    broken: np.ndarray  # uniform choosing the rows a schema break hits
    accounts: np.ndarray
    seconds: np.ndarray  # sorted offsets of the applications into the week


def _draws(rng: np.random.Generator, n: int) -> _Draws:
    """The week's draws; identical for a week whatever the scenario."""
    import numpy as np

    z = rng.standard_normal((n, 6))
    uniforms = rng.random((n, len(CATEGORICAL) + 4))
    accounts = rng.poisson(5.0, n).astype(float)
    seconds = np.sort(rng.integers(0, 7 * 24 * 3600, n))
    label, null_income, null_employment, broken = (
        uniforms[:, len(CATEGORICAL) + i] for i in range(4)
    )
    return _Draws(
        z=z,
        categories={c: uniforms[:, i] for i, c in enumerate(CATEGORICAL)},
        label=label,
        null_income=null_income,
        null_employment=null_employment,
        broken=broken,
        accounts=accounts,
        seconds=seconds,
    )


def _applicants(
    draws: _Draws, cats: dict[str, np.ndarray], drift: CovariateDrift | None
) -> dict[str, np.ndarray]:
    """The numeric features of the week's applicants, covariate drift applied (not yet rounded)."""
    import numpy as np

    z = draws.z
    age = np.clip(np.round(41 + 12 * z[:, 0]), 18, 85)
    income = np.exp(10.85 + 0.45 * z[:, 1] + 0.012 * (age - 41))
    loan = income * np.exp(-1.2 + 0.5 * z[:, 2])
    dti = np.clip(0.3 + 0.12 * z[:, 3], 0.0, 0.95)
    credit = 690 + 65 * z[:, 4] + 0.8 * (age - 41)
    employment = np.clip((age - 18) * (0.35 + 0.15 * np.tanh(z[:, 5])), 0, None)
    employment = np.where(cats["employment_type"] == "unemployed", 0.0, employment)

    values = {"income": income, "loan_amount": loan, "debt_to_income": dti, "credit_score": credit}
    if drift:
        for name, factor in drift.scale.items():
            values[name] = values[name] * factor
        for name, delta in drift.shift.items():
            values[name] = values[name] + delta
    values["credit_score"] = np.clip(np.round(values["credit_score"]), 300, 850)
    values.update(age=age, employment_years=employment, num_open_accounts=draws.accounts)
    return values


def _default_labels(
    values: dict[str, np.ndarray],
    cats: dict[str, np.ndarray],
    concept: ConceptDrift | None,
    u_label: np.ndarray,
) -> np.ndarray:
    """0/1 defaults drawn from the true logistic model (or the concept drift's)."""
    import numpy as np

    income, loan = values["income"], values["loan_amount"]
    features = {
        "credit_score": (values["credit_score"] - 690) / 65,
        "debt_to_income": (values["debt_to_income"] - 0.3) / 0.12,
        "loan_to_income": (np.log(loan / income) + 1.2) / 0.5,
        "income": (np.log(income) - 10.85) / 0.45,
        "employment_years": (values["employment_years"] - 8) / 5,
        "age": (values["age"] - 41) / 12,
        "num_open_accounts": (values["num_open_accounts"] - 5) / 2.2,
    }
    weights = {**WEIGHTS, **(concept.weights if concept else {})}
    effects = {
        c: {**EFFECTS.get(c, {}), **((concept.effects if concept else {}).get(c, {}))}
        for c in CATEGORICAL
    }
    logit = (
        INTERCEPT
        + (concept.intercept_shift if concept else 0.0)
        + sum(weights[k] * v for k, v in features.items())
    )
    for column, table in effects.items():
        logit = logit + np.vectorize(lambda v, t=table: t.get(v, 0.0), otypes=[float])(cats[column])
    return (u_label < 1.0 / (1.0 + np.exp(-logit))).astype(int)


def _week_frame(
    week: int,
    draws: _Draws,
    values: dict[str, np.ndarray],
    cats: dict[str, np.ndarray],
    label: np.ndarray,
) -> pd.DataFrame:
    """The batch as written to CSV: timestamps, rounded values, a few blanks, the label."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            TIMESTAMP: [
                (START_DATE + timedelta(weeks=week - 1, seconds=int(s))).isoformat()
                for s in draws.seconds
            ],
            "income": np.where(draws.null_income < 0.01, np.nan, np.round(values["income"], 2)),
            "loan_amount": np.round(values["loan_amount"], 2),
            "debt_to_income": np.round(values["debt_to_income"], 4),
            "credit_score": values["credit_score"].astype(int),
            "age": values["age"].astype(int),
            "employment_years": np.where(
                draws.null_employment < 0.02, np.nan, np.round(values["employment_years"], 1)
            ),
            "num_open_accounts": values["num_open_accounts"].astype(int),
            **{c: cats[c].astype(str) for c in CATEGORICAL},
            TARGET: label,
        },
        columns=list(COLUMNS),
    )


def generate_week(
    week: int, scenario: Scenario | None = None, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """One weekly batch (rows sorted by application time), with the scenario's events applied."""
    import numpy as np

    if week < 1:
        raise ValueError(f"weeks are numbered from 1, got {week}")
    scenario = scenario or default_scenario()
    rng = np.random.default_rng([seed, week])
    n = int(
        scenario.rows_per_week
        + rng.integers(-scenario.rows_per_week // 20, scenario.rows_per_week // 20 + 1)
    )
    draws = _draws(rng, n)
    drift = active_event(scenario.covariate, week)
    mix = {**CATEGORIES, **(drift.mix if drift else {})}
    cats = {c: _draw_category(draws.categories[c], mix[c]) for c in CATEGORICAL}
    values = _applicants(draws, cats, drift)
    label = _default_labels(values, cats, active_event(scenario.concept, week), draws.label)
    frame = _week_frame(week, draws, values, cats, label)
    broken = next((b for b in scenario.breaks if b.week == week), None)
    return _break_schema(frame, broken, draws.broken) if broken else frame


def _break_schema(frame: pd.DataFrame, spec: SchemaBreak, u: Any) -> pd.DataFrame:
    """Apply a schema break: negative/huge values, strings in numeric columns, dropped columns."""
    frame = frame.copy()
    hit = u < spec.fraction
    for column in spec.out_of_range:
        frame[column] = frame[column].where(~hit, -frame[column].abs() - 1)
    for column in spec.wrong_type:
        as_text = frame[column].astype(object)
        as_text[hit] = [f"{v} pts" for v in frame.loc[hit, column]]
        frame[column] = as_text
    return frame.drop(columns=list(spec.missing))


def batch_name(week: int) -> str:
    """File name of a weekly batch: ``week_07.csv``."""
    return f"week_{week:02d}.csv"


def write_week(frame: pd.DataFrame, path: Path) -> None:
    """Write one batch as CSV with fixed formatting (byte-identical on regeneration)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")


def write_events(scenario: Scenario, weeks: int, seed: int, path: Path) -> None:
    """Write the ground truth (``events.json``) with the scenario and seed that produced it."""
    truth = {
        "scenario": scenario.name,
        "seed": seed,
        "weeks": weeks,
        "rows_per_week": scenario.rows_per_week,
        "events": events_for(scenario, weeks),
        "scenario_definition": asdict(scenario),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")


def generate(
    out: Path,
    weeks: int,
    scenario: Scenario,
    seed: int = DEFAULT_SEED,
    truth: Path | None = None,
    first_week: int = 1,
) -> list[Path]:
    """Write weeks ``first_week..weeks`` into ``out`` (and the ground truth); return the files."""
    written = []
    for week in range(first_week, weeks + 1):
        path = out / batch_name(week)
        write_week(generate_week(week, scenario, seed), path)
        written.append(path)
    if truth is not None:
        write_events(scenario, weeks, seed, truth)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m mlpages.pipeline.generate --out data/raw --weeks 16``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/raw"), help="folder of the batches")
    parser.add_argument("--weeks", type=int, default=DEFAULT_WEEKS, help="number of weeks")
    parser.add_argument("--first-week", type=int, default=1, help="first week to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rows", type=int, default=2000, help="rows per week (about)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="default")
    parser.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="where to write events.json (keep it outside --out)",
    )
    args = parser.parse_args(argv)
    if args.truth is not None and args.out.resolve() in args.truth.resolve().parents:
        parser.error("--truth must be outside --out (the ground truth is not part of the data)")
    scenario = SCENARIOS[args.scenario](args.rows)
    files = generate(args.out, args.weeks, scenario, args.seed, args.truth, args.first_week)
    print(
        f"wrote {len(files)} weekly batches to {args.out} (scenario {scenario.name})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
