"""The git reader on real repositories: refs of every kind, odd commits, shallow, partial."""

from __future__ import annotations

import subprocess

import pytest
from helpers.git import git

from mlpages.config import Config
from mlpages.errors import NotAGitRepository
from mlpages.gitread.objects import classify_ref, parse_commit, parse_tree
from mlpages.gitread.process import GitFailed, git_env, run_git, try_git
from mlpages.gitread.reader import GitReader, locate_repo
from mlpages.history.collect import first_parent_chain, resolve_default_branch

DVC = {".dvc/config": "", "dvc.yaml": "stages:\n  s:\n    cmd: echo\n"}


def test_commits_parents_merge_and_messages(make_repo):
    repo = make_repo([("root", DVC)])
    base = repo.head()
    repo.git("checkout", "-q", "-b", "feature")
    feature = repo.commit("feature work\n\nbody line 1\nbody line 2", {"f.txt": "x"})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", {"m.txt": "y"})
    repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    merge = repo.head()
    with GitReader(repo.path) as reader:
        order = reader.rev_list([merge])
        commits = reader.read_commits(order)
    assert order[0] == merge and order[-1] == base
    assert len(commits[merge].parents) == 2
    assert commits[merge].parents[1] == feature
    assert commits[feature].subject == "feature work"
    assert commits[feature].body == "body line 1\nbody line 2"
    assert commits[feature].author.email == "ada@example.com"
    assert commits[base].author_time == 1_700_003_600
    assert first_parent_chain(commits, merge)[-1] == base
    assert feature not in first_parent_chain(commits, merge)


def test_non_utf8_messages_are_decoded(make_repo):
    repo = make_repo([("root", DVC)])
    (repo.path / "msg.txt").write_bytes("caf\xe9 latin-1 message".encode("latin-1"))
    repo.git(
        "-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "--allow-empty", "-F", "msg.txt"
    )
    with GitReader(repo.path) as reader:
        commit = reader.read_commits([repo.head()])[repo.head()]
    assert commit.subject == "café latin-1 message"
    # No encoding header and invalid UTF-8: replacement characters, never an exception.
    raw = (
        b"tree "
        + b"0" * 40
        + b"\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\n\xff\xfe bad"
    )
    assert parse_commit("x", raw).subject == "\ufffd\ufffd bad"


def test_refs_of_every_kind_and_tag_of_a_tag(make_repo):
    repo = make_repo([("root", DVC), ("second", {"a": "1"})])
    head = repo.head()
    repo.git("tag", "-a", "v1", "-m", "release one")
    repo.git("tag", "-a", "v1-again", "-m", "tag of a tag", "v1")
    repo.git("tag", "light")
    repo.git("update-ref", "refs/exps/ab/cdef0123/exp-brave-owl", head)
    repo.git("update-ref", "refs/pull/7/head", head)
    repo.git("update-ref", "refs/notes/commits", head)
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    repo.git("tag", "-a", "tree-tag", "-m", "points at a tree", tree)
    with GitReader(repo.path) as reader:
        refs = {r.name: r for r in reader.refs()}
    assert refs["refs/tags/v1"].annotated and refs["refs/tags/v1"].tag_message == "release one"
    assert refs["refs/tags/v1"].tagger.email == "ada@example.com"
    assert refs["refs/tags/v1-again"].sha == head  # peeled through two tag objects
    assert not refs["refs/tags/light"].annotated
    assert refs["refs/exps/ab/cdef0123/exp-brave-owl"].kind == "exp"
    assert refs["refs/exps/ab/cdef0123/exp-brave-owl"].short == "exp-brave-owl"
    assert refs["refs/pull/7/head"].kind == "pull"
    assert "refs/notes/commits" not in refs
    assert "refs/tags/tree-tag" not in refs  # not a commit
    assert classify_ref("refs/remotes/origin/main") == ("remote", "origin/main")


def test_ci_clone_has_only_remote_branches_and_origin_head(make_repo, tmp_path):
    origin = make_repo([("root", DVC)], name="origin")
    origin.git("checkout", "-q", "-b", "dev")
    dev = origin.commit("dev work", {"d": "1"})
    origin.git("checkout", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin.path), str(clone))
    git(clone, "checkout", "-q", "--detach", "origin/dev")
    git(clone, "branch", "-q", "-D", "main")
    with GitReader(clone) as reader:
        refs = reader.refs()
        head_sha, head_branch = reader.head()
        symrefs = reader.symrefs
    kinds = {r.short: r.kind for r in refs}
    assert kinds == {"origin/main": "remote", "origin/dev": "remote"}
    assert symrefs["refs/remotes/origin/HEAD"] == "refs/remotes/origin/main"
    assert (head_sha, head_branch) == (dev, None)  # detached HEAD
    default = resolve_default_branch(refs, symrefs, head_branch, Config())
    assert default is not None and default.short == "origin/main"
    chosen = resolve_default_branch(refs, symrefs, head_branch, Config(default_branch="dev"))
    assert chosen.sha == dev


def test_default_branch_fallbacks(make_repo):
    repo = make_repo([("root", DVC)])
    repo.git("branch", "-m", "main", "trunk")
    with GitReader(repo.path) as reader:
        refs, (_, branch) = reader.refs(), reader.head()
    assert resolve_default_branch(refs, {}, branch, Config()).short == "trunk"
    repo.git("branch", "master")
    with GitReader(repo.path) as reader:
        refs = reader.refs()
    assert resolve_default_branch(refs, {}, branch, Config()).short == "master"
    assert resolve_default_branch((), {}, None, Config()) is None


def test_orphan_branch_is_a_second_root(make_repo):
    repo = make_repo([("root", DVC)])
    repo.git("checkout", "-q", "--orphan", "pages")
    repo.git("rm", "-rq", "--cached", ".")
    orphan = repo.commit("orphan root", {"index.html": "<p>"})
    with GitReader(repo.path) as reader:
        refs = reader.refs()
        commits = reader.read_commits(reader.rev_list(r.sha for r in refs))
    roots = [c for c in commits.values() if not c.parents]
    assert len(roots) == 2 and orphan in commits


def test_trees_lookup_and_blobs(make_repo):
    repo = make_repo([("root", {**DVC, "a/b/c.txt": "hello", "big.bin": "x" * 1000})])
    with GitReader(repo.path) as reader:
        commit = reader.read_commits([repo.head()])[repo.head()]
        entry = reader.lookup(commit.tree, "a/b/c.txt")
        assert entry is not None and entry.is_blob
        assert reader.read_blob(entry.sha) == (5, b"hello")
        assert reader.lookup(commit.tree, "a/missing") is None
        assert reader.lookup(commit.tree, "a/b/c.txt/deeper") is None
        big = reader.lookup(commit.tree, "big.bin")
        assert reader.read_blob(big.sha, max_bytes=10) == (1000, None)  # skipped, not read
        assert reader.read_blob(entry.sha) == (5, b"hello")  # the stream is still in sync
        assert sorted(p for p, _ in reader.walk_blobs(commit.tree)) == [
            ".dvc/config",
            "a/b/c.txt",
            "big.bin",
            "dvc.yaml",
        ]
        assert reader.resolve("HEAD") == repo.head()
        assert reader.resolve("no-such-rev") is None
        assert reader.read_blob("0" * 40) is None


def test_parse_tree_handles_odd_names():
    raw = b"100644 we ird\xff.txt\0" + b"\x01" * 20 + b"40000 dir\0" + b"\x02" * 20
    entries = parse_tree(raw)
    assert entries[0].sha == "01" * 20 and entries[1].is_tree
    assert entries[0].name.encode("utf-8", "surrogateescape") == b"we ird\xff.txt"


def test_shallow_clone_is_detected(make_repo, tmp_path):
    origin = make_repo([("one", DVC), ("two", {"a": "1"}), ("three", {"a": "2"})], name="o")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin.path}", str(clone))
    assert locate_repo(clone).shallow
    assert not locate_repo(origin.path).shallow


def test_not_a_repository(tmp_path):
    with pytest.raises(NotAGitRepository):
        locate_repo(tmp_path)


def test_partial_clone_missing_blob_is_none(make_repo, tmp_path):
    origin = make_repo([("one", {**DVC, "data.txt": "old"}), ("two", {"data.txt": "new"})], "o")
    origin.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{origin.path}", str(clone))
    old_blob = origin.git("rev-parse", "HEAD~1:data.txt").strip()
    subprocess.run(["rm", "-rf", str(origin.path)], check=True)  # the promisor is gone
    with GitReader(clone) as reader:
        assert reader.read_blob(old_blob) is None
        head_blob = reader.lookup(
            reader.read_commits([git(clone, "rev-parse", "HEAD").strip()])[
                git(clone, "rev-parse", "HEAD").strip()
            ].tree,
            "data.txt",
        )
        assert reader.read_blob(head_blob.sha) == (3, b"new")
        # A bulk read where git dies half way: the rest is still read.
        replies = dict(
            reader._cat.read_many([head_blob.sha, old_blob, head_blob.sha + "x", head_blob.sha])
        )
        assert replies[old_blob] is None
        assert replies[head_blob.sha][2] == b"new"
        assert reader._cat.restarts >= 2


def test_git_runs_in_the_folder_given_whatever_the_environment_says(
    make_repo, tmp_path, monkeypatch
):
    repo = make_repo([("here", DVC)])
    other = make_repo([("elsewhere", DVC), ("again", {"a": "1"})], name="other")
    head = repo.head()
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    assert run_git(repo.path, "rev-parse", "HEAD").decode().strip() == head != other.head()
    assert try_git(repo.path, "rev-parse", "HEAD") == head
    with GitReader(repo.path) as reader:
        assert reader.resolve("HEAD") == head
    env = git_env()
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_NO_LAZY_FETCH"] == "1"
    assert "GIT_DIR" not in env and "GIT_WORK_TREE" not in env
    monkeypatch.delenv("GIT_TERMINAL_PROMPT", raising=False)
    assert "GIT_TERMINAL_PROMPT" not in git_env(prompt=True)  # a push may ask for credentials


def test_a_failing_git_command_says_what_git_said(make_repo):
    repo = make_repo([("root", DVC)])
    with pytest.raises(GitFailed) as failed:
        run_git(repo.path, "rev-parse", "--verify", "no-such-branch")
    assert failed.value.returncode != 0
    assert failed.value.command == ("rev-parse", "--verify", "no-such-branch")
    assert failed.value.message == "fatal: Needed a single revision"
    assert run_git(repo.path, "rev-parse", "--verify", "nope", check=False) == b""
    assert try_git(repo.path, "rev-parse", "--verify", "no-such-branch") is None


def test_a_ref_name_that_is_not_utf8_survives_the_round_trip(make_repo):
    repo = make_repo([("root", DVC)])
    name = b"refs/heads/caf\xe9".decode("utf-8", "surrogateescape")
    run_git(repo.path, "update-ref", name, repo.head())
    listed = try_git(repo.path, "for-each-ref", "--format=%(refname)", "refs/heads/caf*")
    assert listed == name
    assert try_git(repo.path, "rev-parse", "--verify", listed) == repo.head()


def test_files_of_revisions_are_read_in_one_pass(make_repo):
    repo = make_repo([("one", {**DVC, "a.txt": "first"}), ("two", {"a.txt": "second!"})])
    first = repo.git("rev-parse", "HEAD~1").strip()
    with GitReader(repo.path) as reader:
        found = reader.read_files(
            [f"{first}:a.txt", "HEAD:a.txt", "HEAD:absent", "HEAD:.dvc", "HEAD:a.txt"]
        )
        assert found == {
            f"{first}:a.txt": b"first",
            "HEAD:a.txt": b"second!",
            "HEAD:absent": None,
            "HEAD:.dvc": None,  # a folder is not a file
        }
        assert reader.read_files(["HEAD:a.txt", f"{first}:a.txt"], max_bytes=5) == {
            "HEAD:a.txt": None,
            f"{first}:a.txt": b"first",
        }
        assert reader.read_files([]) == {}
