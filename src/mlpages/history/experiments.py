"""DVC experiments as DVC shows them: named runs nested under the commit they started from.

``dvc exp run`` commits each experiment on top of its baseline and keeps it under the ref
``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`` (DVC 2 and 3). Everything else below
``refs/exps/`` (``exec``, ``apply``, ``celery``, ``temp``, the stash refs) is DVC's bookkeeping and
is skipped. A DVC 2 checkpoint experiment points at the last checkpoint of a chain of commits
that leads back to the baseline: the chain is walked (first parents) and kept.

Ref names are repository content: only refs of exactly that shape, with a name that passes
:func:`valid_name`, become experiments; the others are counted in ``ExperimentIndex.skipped``.
The name stays plain text: the site escapes it like any other repository string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mlpages.models import Commit, Ref

EXPS_PREFIX = "refs/exps/"
# What DVC keeps below refs/exps/ that is not an experiment.
BOOKKEEPING = frozenset({"exec", "apply", "celery", "temp", "stash", "runs", "tmp"})
MAX_NAME = 120  # characters; git allows longer, no experiment name needs it
MAX_CHAIN = 10_000  # checkpoints walked back from a tip before giving up on reaching its baseline
_HEX2 = re.compile(r"[0-9a-f]{2}\Z")
_HEX38 = re.compile(r"[0-9a-f]{38}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Experiment:
    """One experiment: ``name`` (``minor-coos``), the ``baseline`` commit it was run on and its
    ``tip`` commit. ``chain``: the tip and its checkpoints back to the baseline (excluded),
    newest first; one commit for DVC 3. ``created``: the tip's commit time."""

    name: str
    ref: str
    baseline: str
    tip: str
    chain: tuple[str, ...]
    created: int

    @property
    def label(self) -> str:
        """How DVC's table names it: ``[minor-coos]``."""
        return f"[{self.name}]"

    @property
    def checkpoints(self) -> int:
        """Commits of the chain besides the tip (DVC 2 checkpoints)."""
        return len(self.chain) - 1


@dataclass(frozen=True)
class ExperimentIndex:
    """Every experiment of a repository, newest first, with lookups by tip and by baseline."""

    experiments: tuple[Experiment, ...] = ()
    skipped: tuple[str, ...] = ()  # refs/exps/… refs that look like experiments but are not valid
    by_tip: Mapping[str, Experiment] = field(default_factory=dict)
    by_baseline: Mapping[str, tuple[Experiment, ...]] = field(default_factory=dict)
    # Checkpoint commits (chain members other than tips) -> their experiment.
    by_checkpoint: Mapping[str, Experiment] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.experiments)

    def of(self, sha: str) -> Experiment | None:
        """The experiment whose tip (or checkpoint) is commit ``sha``."""
        return self.by_tip.get(sha) or self.by_checkpoint.get(sha)

    def under(self, baseline: str) -> tuple[Experiment, ...]:
        """The experiments run on commit ``baseline``, newest first."""
        return self.by_baseline.get(baseline, ())


def valid_name(name: str) -> bool:
    """A name shown as an experiment: not empty, not too long, no control characters."""
    return 0 < len(name) <= MAX_NAME and not _CONTROL.search(name) and name.strip() == name


def parse_exp_ref(ref_name: str) -> tuple[str, str] | None:
    """``refs/exps/ab/<38 hex>/<name>`` -> (baseline sha, name); None for anything else."""
    if not ref_name.startswith(EXPS_PREFIX):
        return None
    parts = ref_name[len(EXPS_PREFIX) :].split("/")
    if len(parts) != 3 or parts[0] in BOOKKEEPING:
        return None
    head, rest, name = parts
    if not (_HEX2.match(head) and _HEX38.match(rest)) or not valid_name(name):
        return None
    return head + rest, name


def _chain(tip: str, baseline: str, commits: Mapping[str, Commit]) -> tuple[str, ...] | None:
    """``tip`` and its first parents down to ``baseline`` (excluded); None if it is not reached."""
    chain: list[str] = []
    sha: str | None = tip
    while sha is not None and len(chain) < MAX_CHAIN:
        if sha == baseline:
            return tuple(chain)
        commit = commits.get(sha)
        if commit is None:
            return None
        chain.append(sha)
        sha = commit.parents[0] if commit.parents else None
    return None


def experiments_of(refs: Iterable[Ref], commits: Mapping[str, Commit]) -> ExperimentIndex:
    """The experiments among ``refs`` whose tip and baseline are both in ``commits``.

    A tip that does not descend from its ref's baseline is kept with a one-commit chain (a
    hand-made or rebased ref): it is still that baseline's experiment as DVC lists it.
    """
    found: list[Experiment] = []
    skipped: list[str] = []
    for ref in refs:
        if not ref.name.startswith(EXPS_PREFIX):
            continue
        parsed = parse_exp_ref(ref.name)
        if parsed is None:
            first = ref.name[len(EXPS_PREFIX) :].split("/", 1)[0]
            if first not in BOOKKEEPING and first != "":
                skipped.append(ref.name)
            continue
        baseline, name = parsed
        tip = commits.get(ref.sha)
        if tip is None or baseline not in commits or ref.sha == baseline:
            skipped.append(ref.name)
            continue
        chain = _chain(ref.sha, baseline, commits) or (ref.sha,)
        found.append(Experiment(name, ref.name, baseline, ref.sha, chain, tip.commit_time))
    found.sort(key=lambda e: (-e.created, e.name, e.ref))
    by_tip: dict[str, Experiment] = {}
    by_baseline: dict[str, list[Experiment]] = {}
    by_checkpoint: dict[str, Experiment] = {}
    kept: list[Experiment] = []
    for exp in found:
        if exp.tip in by_tip:  # two refs at one commit (a copied ref): the newest name wins
            continue
        by_tip[exp.tip] = exp
        kept.append(exp)
        by_baseline.setdefault(exp.baseline, []).append(exp)
        for sha in exp.chain[1:]:
            by_checkpoint.setdefault(sha, exp)
    for sha in by_tip:
        by_checkpoint.pop(sha, None)
    return ExperimentIndex(
        experiments=tuple(kept),
        skipped=tuple(skipped),
        by_tip=by_tip,
        by_baseline={k: tuple(v) for k, v in by_baseline.items()},
        by_checkpoint=by_checkpoint,
    )
