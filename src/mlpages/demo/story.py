"""``mlpages demo``: a sandbox repository that lives through weeks of continuous training.

Every week a new batch of loan applications is committed as DVC-tracked data and processed by the
real ``dvc repro``: validation, monitoring with the production model, and, when the monitor's
trigger asks for it, training on the recent window, evaluation and the gate against production.
Blessed models are registered and promoted with ``mlpages registry``; a schema-broken batch is
stopped and quarantined; an experiment branch, a pull-request branch and a rollback happen along
the way. Then ``mlpages build`` writes the site. Commit and tag dates are fixed, so reruns are
identical.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlpages.demo.sandbox import ANALYST, TEMPLATE, Sandbox, prepare, scaffold, set_params
from mlpages.errors import DemoError
from mlpages.pipeline.generate import batch_name, generate_week, write_events, write_week
from mlpages.pipeline.scenarios import default_scenario

ARTIFACT = "credit-model"
START_EPOCH = 1_704_704_400  # Monday 2024-01-08 09:00 UTC: the morning after week 1 closed
HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
BOOTSTRAP_WEEKS = 3
MIN_WEEKS = 8
# The analyst's experiments on main's newest commit: (name, `dvc exp run -S` overrides).
EXPERIMENTS = (
    ("strong-reg", ("train.logistic_regression.C=0.3",)),
    ("forest-50", ("train.model=random_forest", "train.random_forest.n_estimators=50")),
)


@dataclass(frozen=True)
class DemoPlan:
    """When the story's events happen (weeks are 1-based; branches fork after that week)."""

    weeks: int = 14
    rows: int = 1500
    seed: int = 20240101
    covariate_week: int = 6
    broken_week: int = 9
    concept_week: int = 11
    experiment_after: int = 7
    pull_request_after: int = 12
    experiments: bool = True  # `dvc exp run` on main's newest commit at the end

    @classmethod
    def for_weeks(cls, weeks: int, rows: int = 1500, seed: int = 20240101) -> DemoPlan:
        """The default story for 12+ weeks; a compressed one (events from week 5) below that."""
        if weeks < MIN_WEEKS:
            raise DemoError(f"the demo needs at least {MIN_WEEKS} weeks, got {weeks}")
        if weeks >= 12:
            return cls(weeks=weeks, rows=rows, seed=seed, pull_request_after=min(12, weeks - 1))
        return cls(weeks, rows, seed, 5, 6, 7, experiment_after=4, pull_request_after=weeks - 1)


@dataclass(frozen=True)
class DemoResult:
    """What the demo built and the story it played."""

    root: Path
    repo: Path
    site: Path
    story: tuple[str, ...]
    versions: tuple[str, ...]
    seconds: float
    site_built: bool


class Story:
    """The weekly continuous-training loop and the side stories, with a log of what happened."""

    def __init__(self, box: Sandbox, plan: DemoPlan, echo: Callable[[str], None]) -> None:
        self.box = box
        self.plan = plan
        base = default_scenario(plan.rows)
        self.scenario = replace(
            base,
            name="demo",
            covariate=tuple(replace(e, week=plan.covariate_week) for e in base.covariate),
            breaks=tuple(replace(e, week=plan.broken_week) for e in base.breaks),
            concept=tuple(replace(e, week=plan.concept_week) for e in base.concept),
        )
        self.log: list[str] = []
        self.echo = echo
        self.versions: list[tuple[str, str]] = []  # (version, sha) in promotion order
        self.production: str | None = None

    def say(self, line: str) -> None:
        self.log.append(line)
        self.echo(line)

    def week_time(self, week: int) -> int:
        return START_EPOCH + (week - 1) * WEEK

    def add_batch(self, week: int) -> None:
        frame = generate_week(week, self.scenario, self.plan.seed)
        write_week(frame, self.box.repo / "data" / "raw" / batch_name(week))

    # --- registry -------------------------------------------------------------

    def promote(self, week: int, why: str) -> None:
        """Register the model of HEAD, assign it to staging, then (six hours later) to prod."""
        box = self.box
        sha = box.git("rev-parse", "HEAD").strip()
        version = "v1.0.0" if not self.versions else _bump_minor(self.versions[-1][0])
        box.run("mlpages", "registry", "register", ARTIFACT, "--version", version, "-m", why)
        box.run("mlpages", "registry", "assign", ARTIFACT, "staging", "--version", version)
        box.at(self.week_time(week) + 6 * HOUR)
        message = f"Promote {version} to prod: {why}"
        box.run(
            "mlpages", "registry", "assign", ARTIFACT, "prod", "--version", version, "-m", message
        )
        self.versions.append((version, sha))
        self.production = version
        self.say(f"week {week:02d}: registered {version} and promoted it to prod ({why})")

    def rollback(self, week: int) -> None:
        """Give prod back to the previous version (a new assignment tag; history is kept)."""
        box = self.box
        current = self.production
        previous = next(v for v, _ in reversed(self.versions) if v != current)
        box.at(self.week_time(week) + 2 * DAY)
        reason = f"{current} doubles the scoring latency in serving; back to {previous}"
        box.run("mlpages", "registry", "rollback", ARTIFACT, "prod", "-m", reason, person=ANALYST)
        self.production = previous
        self.say(f"week {week:02d}: rolled prod back from {current} to {previous}")

    # --- the weekly loop ---------------------------------------------------------------------

    def bootstrap(self) -> None:
        """Weeks 1-3 arrive, the first model is trained and rubber-stamped into production."""
        box = self.box
        for week in range(1, BOOTSTRAP_WEEKS + 1):
            self.add_batch(week)
        box.at(self.week_time(BOOTSTRAP_WEEKS))
        # The pipeline arrives with the first data, so no commit declares outputs it never made.
        # dvc.yaml is stored as dvc.yaml.in so DVC and mlpages do not see a pipeline in mlpages.
        shutil.copy(TEMPLATE / "dvc.yaml.in", box.repo / "dvc.yaml")
        shutil.copy(TEMPLATE / "params.yaml", box.repo / "params.yaml")
        box.run("dvc", "add", "-q", "data/raw")
        box.run("dvc", "repro", "-q", "gate")
        auc = box.read_json("reports/metrics.json").get("test", {}).get("roc_auc")
        box.commit(f"week 01-03: the DVC pipeline, first batches, first model (test roc_auc {auc})")
        self.promote(BOOTSTRAP_WEEKS, "first model, rubber-stamped on the floors")

    def week(self, week: int) -> None:
        """One week of continuous training."""
        box = self.box
        box.at(self.week_time(week))
        self.add_batch(week)
        box.run("dvc", "add", "-q", "data/raw")
        checked = box.run("dvc", "repro", "-q", "monitor", check=False)
        validation = box.read_json("reports/validation.json")
        if checked.returncode != 0:
            if validation.get("status") != "fail":
                tail = (checked.stdout + checked.stderr).strip().splitlines()[-8:]
                raise DemoError(f"week {week}: dvc repro failed:\n" + "\n".join(tail))
            self.reject(week, validation)
            return
        trigger = box.read_json("reports/trigger.json")
        alerts = _alerts(box.read_json("reports/monitoring.json"), week)
        note = f"; alerts: {alerts}" if alerts else ""
        if not trigger.get("retrain"):
            box.commit(f"week {week:02d}: monitored with {self.production}, no retraining{note}")
            self.say(f"week {week:02d}: monitored, no retraining{note}")
            return
        reasons = ", ".join(r.get("kind", "?") for r in trigger.get("reasons", []))
        box.run("dvc", "repro", "-q")
        gate = box.read_json("reports/gate.json")
        auc = box.read_json("reports/metrics.json").get("test", {}).get("roc_auc")
        verdict = gate.get("verdict", "?")
        box.commit(
            f"week {week:02d}: retrained ({reasons}); test roc_auc {auc}; gate {verdict}{note}"
        )
        self.say(f"week {week:02d}: retrained ({reasons}); gate {verdict}{note}")
        if verdict == "blessed":
            self.promote(week, f"retrained on week {week} ({reasons}), blessed by the gate")
        else:
            why = "; ".join(gate.get("reasons", [])) or "see reports/gate.json"
            self.say(f"week {week:02d}: candidate not promoted: {why}")

    def reject(self, week: int, validation: dict[str, Any]) -> None:
        """Commit the failing validation report, then quarantine the batch."""
        box = self.box
        kinds = sorted({a.get("kind", "?") for a in validation.get("anomalies", [])})
        box.commit(
            f"week {week:02d}: batch rejected by validation ({', '.join(kinds)}); "
            "nothing trained, nothing promoted"
        )
        self.say(f"week {week:02d}: validation stopped the batch: {', '.join(kinds)}")
        box.at(self.week_time(week) + 4 * HOUR)
        name = batch_name(week)
        quarantine = box.repo / "data" / "quarantine"
        quarantine.mkdir(exist_ok=True)
        (box.repo / "data" / "raw" / name).rename(quarantine / name)
        box.run("dvc", "add", "-q", "data/raw", "data/quarantine")
        box.git("checkout", "HEAD~1", "--", "reports/validation.json", "reports/drift.json")
        box.commit(f"data: quarantine {name} (schema-broken) until the provider fixes it", ANALYST)
        self.say(f"week {week:02d}: quarantined {name}")

    # --- branches ----------------------------------------------------------------------------

    def branch(self, name: str, commits: list[tuple[str, dict[str, Any]]]) -> None:
        """Fork ``name`` from main, commit each params change with a real run, return to main."""
        box = self.box
        box.git("checkout", "-q", "-b", name, person=ANALYST)
        for message, updates in commits:
            set_params(box.repo, updates)
            box.run("dvc", "repro", "-q", "gate", person=ANALYST)
            auc = box.read_json("reports/metrics.json").get("test", {}).get("roc_auc")
            verdict = box.read_json("reports/gate.json").get("verdict", "?")
            box.commit(f"{message} (test roc_auc {auc}; gate {verdict})", person=ANALYST)
            self.say(f"branch {name}: {message}: test roc_auc {auc}, gate {verdict}")
        box.git("checkout", "-q", "main", person=ANALYST)
        box.run("dvc", "checkout", "-q", person=ANALYST)

    def experiments(self) -> None:
        """The analyst tunes the newest baseline of main with ``dvc exp run -n NAME -S …``.

        The runs share the cache (only train, evaluate and gate rerun); each experiment is kept
        under ``refs/exps/`` (the sandbox has no git remote, so there is nothing to ``dvc exp
        push`` to), re-stamped at the sandbox's clock, and the work tree is reset after each run.
        """
        box = self.box
        baseline = box.git("rev-parse", "HEAD").strip()
        box.at(self.week_time(self.plan.weeks) + 2 * DAY)
        for name, overrides in EXPERIMENTS:
            flags = [flag for value in overrides for flag in ("-S", value)]
            box.run("dvc", "exp", "run", "-q", "-n", name, *flags, person=ANALYST)
            auc = box.read_json("reports/metrics.json").get("test", {}).get("roc_auc")
            verdict = box.read_json("reports/gate.json").get("verdict", "?")
            box.restamp(f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}", person=ANALYST)
            box.git("reset", "-q", "--hard", person=ANALYST)
            box.run("dvc", "checkout", "-q", "--force", person=ANALYST)
            self.say(
                f"experiment {name} ({', '.join(overrides)}): test roc_auc {auc}, gate {verdict}"
            )

    def play(self) -> None:
        plan = self.plan
        self.bootstrap()
        for week in range(BOOTSTRAP_WEEKS + 1, plan.weeks + 1):
            self.week(week)
            if week == plan.experiment_after:
                self.box.at(self.week_time(week) + 2 * DAY)
                self.branch(
                    "exp/random-forest",
                    [("exp: random forest, 150 trees", {"train.model": "random_forest",
                                                        "train.random_forest.n_estimators": 150})],
                )  # fmt: skip
            if week == plan.pull_request_after:
                self.box.at(self.week_time(week) + 3 * DAY)
                self.branch(
                    "pr/stronger-regularisation",
                    [("pr: stronger regularisation (C=0.2)", {"train.logistic_regression.C": 0.2})],
                )
            if week == plan.weeks - 1 and len(self.versions) >= 2:
                self.rollback(week)
        if plan.experiments:
            self.experiments()


def _bump_minor(version: str) -> str:
    major, minor, _ = version.lstrip("v").split(".")
    return f"v{major}.{int(minor) + 1}.0"


def _alerts(record: dict[str, Any], week: int) -> str:
    entry = next((b for b in record.get("batches", []) if b.get("week") == week), None)
    kinds = sorted({a.get("kind", "?") for a in (entry or {}).get("alerts", [])})
    return ", ".join(kinds)


def build_site(box: Sandbox, site: Path, echo: Callable[[str], None]) -> bool:
    """Run ``mlpages build`` on the sandbox; True when the site has its index page."""
    done = box.run("mlpages", "build", str(box.repo), "--out", str(site))
    lines = done.stdout.strip().splitlines()
    echo("site: " + next((line for line in lines if line.startswith("Built")), "built"))
    return (site / "index.html").is_file()


def run_demo(
    root: Path,
    plan: DemoPlan | None = None,
    build: bool = True,
    echo: Callable[[str], None] = lambda line: None,
) -> DemoResult:
    """Create ``root``/repo with the whole story and ``root``/site with its report.

    ``echo`` receives each line of the story as it happens.
    """
    plan = plan or DemoPlan()
    started = time.monotonic()
    root = root.resolve()
    repo = prepare(root)
    box = Sandbox(repo, START_EPOCH - 2 * DAY)
    scaffold(box)
    story = Story(box, plan, echo)
    story.play()
    write_events(story.scenario, plan.weeks, plan.seed, root / "events.json")
    site = root / "site"
    built = build_site(box, site, echo) if build else False
    return DemoResult(
        root=root,
        repo=repo,
        site=site,
        story=tuple(story.log),
        versions=tuple(v for v, _ in story.versions),
        seconds=round(time.monotonic() - started, 1),
        site_built=built,
    )
