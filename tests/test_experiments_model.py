"""The experiment model on real git repositories whose refs/exps are made with git itself."""

from __future__ import annotations

from mlpages.gitread.reader import GitReader
from mlpages.history.experiments import experiments_of, parse_exp_ref, valid_name


def _index(repo):
    with GitReader(repo.path) as reader:
        refs = reader.refs()
        commits = reader.read_commits(reader.rev_list([r.sha for r in refs]))
    return experiments_of(refs, commits)


def _exp_ref(baseline: str, name: str) -> str:
    return f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}"


def _experiment_commit(repo, baseline: str, message: str, when: int) -> str:
    """A commit on top of ``baseline`` that no branch holds (what `dvc exp run` makes)."""
    tree = repo.git("rev-parse", f"{baseline}^{{tree}}").strip()
    date = f"{when} +0000"
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    from helpers.git import git

    return git(repo.path, "commit-tree", tree, "-p", baseline, "-m", message, env=env).strip()


def test_dvc3_refs_nest_under_their_baseline_newest_first(make_repo):
    repo = make_repo([("one", {"a": "1"}), ("two", {"a": "2"})])
    base = repo.head()
    a = _experiment_commit(repo, base, "dvc: commit experiment 1", 1_800_000_000)
    b = _experiment_commit(repo, base, "dvc: commit experiment 2", 1_800_000_100)
    repo.git("update-ref", _exp_ref(base, "minor-coos"), a)
    repo.git("update-ref", _exp_ref(base, "exp-1b2c3"), b)
    index = _index(repo)
    assert [e.name for e in index.under(base)] == ["exp-1b2c3", "minor-coos"]
    exp = index.of(a)
    assert exp is not None and exp.baseline == base and exp.tip == a and exp.chain == (a,)
    assert exp.label == "[minor-coos]" and exp.created == 1_800_000_000
    assert index.of(base) is None and index.skipped == ()


def test_bookkeeping_and_stash_refs_are_not_experiments(make_repo):
    repo = make_repo([("one", {"a": "1"})])
    base = repo.head()
    tip = _experiment_commit(repo, base, "exp", 1_800_000_000)
    for ref in (
        "refs/exps/exec/EXEC_BASELINE",
        "refs/exps/exec/EXEC_HEAD",
        "refs/exps/apply/ORIG_HEAD",
        "refs/exps/celery/stash",
        "refs/exps/temp/abc",
        "refs/exps/stash",
        f"refs/exps/celery/{base[:2]}/{base[2:]}/queued",
    ):
        repo.git("update-ref", ref, tip)
    index = _index(repo)
    assert len(index) == 0 and index.skipped == ()


def test_dvc2_checkpoint_chain_is_walked_back_to_the_baseline(make_repo):
    repo = make_repo([("base", {"a": "1"})])
    base = repo.head()
    c1 = _experiment_commit(repo, base, "checkpoint 1", 1_800_000_000)
    c2 = _experiment_commit(repo, c1, "checkpoint 2", 1_800_000_010)
    c3 = _experiment_commit(repo, c2, "checkpoint 3", 1_800_000_020)
    repo.git("update-ref", _exp_ref(base, "exp-ckpt"), c3)
    index = _index(repo)
    exp = index.of(c3)
    assert exp.chain == (c3, c2, c1) and exp.checkpoints == 2 and exp.created == 1_800_000_020
    assert index.of(c1) is exp and index.by_tip.keys() == {c3}


def test_a_tip_not_descending_from_its_baseline_keeps_one_commit(make_repo):
    repo = make_repo([("one", {"a": "1"}), ("two", {"a": "2"})])
    first = repo.git("rev-parse", "HEAD~1").strip()
    other = _experiment_commit(repo, first, "elsewhere", 1_800_000_000)
    head = repo.head()
    repo.git("update-ref", _exp_ref(head, "stray"), other)
    exp = _index(repo).of(other)
    assert exp.baseline == head and exp.chain == (other,)


def test_hostile_and_malformed_refs(make_repo):
    repo = make_repo([("one", {"a": "1"})])
    base = repo.head()
    tip = _experiment_commit(repo, base, "exp", 1_800_000_000)
    hostile = "x\"'><b>&amp;<script>window.__pwned=1<"  # refs cannot hold "/" in a name
    repo.git("update-ref", _exp_ref(base, hostile), tip)
    repo.git("update-ref", f"refs/exps/zz/{base[2:]}/bad-hex", tip)  # not a sha
    repo.git("update-ref", f"refs/exps/{base[:2]}/{base[2:]}/deep/er", tip)  # a slash in the name
    missing = "ab" + "c" * 38
    repo.git("update-ref", _exp_ref(missing, "no-baseline"), tip)  # baseline unknown
    index = _index(repo)
    assert [e.name for e in index.experiments] == [hostile]  # kept as text, escaped by the site
    assert sorted(index.skipped) == sorted(
        [
            f"refs/exps/zz/{base[2:]}/bad-hex",
            f"refs/exps/{base[:2]}/{base[2:]}/deep/er",
            _exp_ref(missing, "no-baseline"),
        ]
    )


def test_names_and_ref_shapes():
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert parse_exp_ref(f"refs/exps/01/{sha[2:]}/minor-coos") == (sha, "minor-coos")
    assert parse_exp_ref(f"refs/exps/01/{sha[2:].upper()}/x") is None
    assert parse_exp_ref(f"refs/exps/01/{sha[2:]}") is None
    assert parse_exp_ref(f"refs/heads/01/{sha[2:]}/x") is None
    assert not valid_name("a\u2028b") and not valid_name("") and not valid_name("x" * 121)
    assert not valid_name(" padded") and valid_name("ünïcode-ok")
