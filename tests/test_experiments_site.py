"""DVC experiments made by real `dvc exp run`, pushed, fetched by a CI-style clone, on the site."""

from __future__ import annotations

from bs4 import BeautifulSoup
from helpers.git import git
from helpers.runs_data import runs_json

from mlpages.gitread.reader import GitReader
from mlpages.history.experiments import experiments_of


def test_the_clone_sees_every_pushed_experiment_under_its_baseline(real_dvc_exp_repo):
    repo = real_dvc_exp_repo
    with GitReader(repo.clone) as reader:
        refs = reader.refs()
        commits = reader.read_commits(reader.rev_list([r.sha for r in refs]))
    index = experiments_of(refs, commits)
    for baseline, names in repo.experiments.items():
        assert sorted(e.name for e in index.under(baseline)) == sorted(names)
        for exp in index.under(baseline):
            assert exp.chain == (exp.tip,) and commits[exp.tip].parents == (baseline,)
            assert commits[exp.tip].subject.startswith("dvc: commit experiment")
    # A plain clone without the refs/exps fetch sees none of them (why the workflows fetch them).
    assert "refs/exps/" not in git(repo.origin, "for-each-ref", "refs/heads")


def test_runs_rows_nest_experiments_with_names_and_baselines(real_dvc_exp_site):
    repo, site = real_dvc_exp_site
    data = runs_json(site)
    rows = data["rows"]
    assert data["experiments"] == 4
    newest, oldest = repo.baselines[1], repo.baselines[0]
    at = {row["s"]: n for n, row in enumerate(rows)}
    # Each baseline row is followed by exactly its experiments.
    for baseline, names in repo.experiments.items():
        n = at[baseline]
        assert rows[n]["nx"] == len(names) and "x" not in rows[n]
        following = rows[n + 1 : n + 1 + len(names)]
        assert sorted(r["x"] for r in following) == sorted(names)
        assert {r["b"] for r in following} == {baseline}
        assert all(not any(ref[1] == "exp" for ref in r["r"]) for r in following)
    assert rows[at[newest]]["open"] is True
    col = next(i for i, c in enumerate(data["columns"]) if c["k"] == "train.lr")
    fast = next(r for r in rows if r.get("x") == "fast-lr")
    assert fast["v"][col] == 0.4 and rows[at[newest]]["v"][col] == 0.2
    assert rows[at[oldest]]["nx"] == 1 and repo.first in at
    # One copy of the runs JSON in the site: runs.html and compare.html load the same file.
    for page in ("runs.html", "compare.html"):
        html = (site / page).read_text()
        assert "mlpagesRuns" not in html and "dvc: commit experiment" not in html
    assert len(list((site / "data").glob("runs-*.js"))) == 1


def test_experiment_commit_page_names_its_baseline_and_deltas(real_dvc_exp_site):
    repo, site = real_dvc_exp_site
    data = runs_json(site)
    fast = next(r for r in data["rows"] if r.get("x") == "fast-lr")
    page = BeautifulSoup((site / f"commit/{fast['s'][:12]}.html").read_text(), "html.parser")
    assert page.h1.find(class_="exp-name").get_text() == "[fast-lr]"
    head = page.find("p", class_="exp-head")
    baseline_link = head.find("a", class_="sha")
    assert baseline_link["href"] == f"{repo.baselines[1][:12]}.html"
    assert {a.get_text() for a in head.find_all("a")} >= {"[wide-net]", "[long-run]"}
    metrics = next(h for h in page.find_all("h2") if h.get_text().startswith("Metrics"))
    assert "Δ vs baseline" in metrics.get_text()
    baseline_page = BeautifulSoup(
        (site / f"commit/{repo.baselines[1][:12]}.html").read_text(), "html.parser"
    )
    listed = baseline_page.find("p", class_="exp-head")
    assert "3 experiments on this commit" in listed.get_text()
    assert "compare.html#sel=" in listed.find_all("a")[-1]["href"]


def test_pr_comment_lists_the_experiments_pushed_on_the_head(real_dvc_exp_repo):
    from helpers.cli import mlpages

    repo = real_dvc_exp_repo
    head = repo.baselines[1]
    text = mlpages("diff", repo.baselines[0], head, cwd=repo.clone, ok={0}).stdout
    section = text[text.index("#### Experiments on the head commit") :]
    lines = [line for line in section.splitlines() if line.startswith("| \\[")]
    assert sorted(line.split(" | ")[0] for line in lines) == [
        "| \\[fast-lr\\]",
        "| \\[long-run\\]",
        "| \\[wide-net\\]",
    ]
    fast = next(line for line in lines if "fast-lr" in line)
    assert "0.94118 (+0.05229 🟢)" in fast  # eval.acc 0.94118 vs the head's 0.88889


def test_pr_test_merge_lists_the_experiments_of_the_pr_head(real_dvc_exp_repo):
    """CI checks out GitHub's test merge (a commit with no experiments of its own): the action
    passes the pull request's head sha with --experiments-of, and the comment lists its runs."""
    from helpers.cli import mlpages

    repo = real_dvc_exp_repo
    base, head = repo.baselines
    tree = git(repo.clone, "rev-parse", f"{head}^{{tree}}").strip()
    merge = git(repo.clone, "commit-tree", tree, "-p", base, "-p", head, "-m", "Merge").strip()
    plain = mlpages("diff", base, merge, cwd=repo.clone, ok={0}).stdout
    assert "Experiments on the head commit" not in plain
    text = mlpages("diff", base, merge, "--experiments-of", head, cwd=repo.clone, ok={0}).stdout
    section = text[text.index("#### Experiments on the head commit") :]
    names = sorted(
        line.split(" | ")[0] for line in section.splitlines() if line.startswith("| \\[")
    )
    assert names == ["| \\[fast-lr\\]", "| \\[long-run\\]", "| \\[wide-net\\]"]
    unknown = mlpages("diff", base, merge, "--experiments-of", "f" * 40, cwd=repo.clone, ok={0})
    assert "Experiments on the head commit" not in unknown.stdout
    assert "--experiments-of" in unknown.stderr and "no such commit" in unknown.stderr


def test_diff_json_lists_the_experiments_too(real_dvc_exp_repo):
    import json

    from helpers.cli import mlpages

    repo = real_dvc_exp_repo
    out = mlpages(
        "diff", repo.baselines[0], repo.baselines[1], "--format", "json", cwd=repo.clone, ok={0}
    ).stdout
    listed = {e["name"]: e for e in json.loads(out)["experiments"]}
    assert set(listed) == {"fast-lr", "wide-net", "long-run"}
    acc = next(m for m in listed["fast-lr"]["metrics"] if m["key"] == "eval.acc")
    assert acc["status"] == "better" and acc["value"] == 0.941176


def test_old_baselines_start_collapsed(make_repo, tmp_path):
    from helpers.git import git

    from mlpages.config import Config
    from mlpages.history.collect import collect
    from mlpages.site.page_core import SiteData
    from mlpages.site.pages.runs import EXPANDED_BASELINES, runs_data

    repo = make_repo([("init", {".dvc/config": "", "params.yaml": "lr: 0\n"})])
    for n in range(EXPANDED_BASELINES + 2):
        base = repo.commit(f"baseline {n}", {"params.yaml": f"lr: {n}\n"})
        tree = repo.git("rev-parse", f"{base}^{{tree}}").strip()
        message = f"dvc: commit experiment exp-{n}"  # distinct commits for distinct names
        tip = git(repo.path, "commit-tree", tree, "-p", base, "-m", message).strip()
        repo.git("update-ref", f"refs/exps/{base[:2]}/{base[2:]}/exp-{n}", tip)
    site = SiteData(history=collect(repo.path, Config(), use_cache=False), config=Config())
    rows = runs_data(site)["rows"]
    opened = [r["open"] for r in rows if "nx" in r]  # newest baseline first
    assert opened == [True] * EXPANDED_BASELINES + [False, False]
    assert [r["x"] for r in rows if "x" in r] == [f"exp-{n}" for n in range(4, -1, -1)]


def test_a_new_experiment_rerenders_its_baseline_and_siblings_only(make_repo, tmp_path):
    from helpers.git import git

    from mlpages.site.build import build_site

    repo = make_repo([("init", {".dvc/config": "", "params.yaml": "lr: 0\n"})])
    bases = [repo.commit(f"baseline {n}", {"params.yaml": f"lr: {n}\n"}) for n in range(3)]

    def experiment(base: str, name: str) -> str:
        tree = repo.git("rev-parse", f"{base}^{{tree}}").strip()
        message = f"dvc: commit experiment {name}"  # distinct commits for distinct names
        tip = git(repo.path, "commit-tree", tree, "-p", base, "-m", message).strip()
        repo.git("update-ref", f"refs/exps/{base[:2]}/{base[2:]}/{name}", tip)
        return tip

    old = experiment(bases[1], "first")
    other = experiment(bases[0], "elsewhere")
    site = tmp_path / "site"
    build_site(repo.path, site)
    new = experiment(bases[1], "second")
    rendered = set(build_site(repo.path, site).rendered_paths)
    commits = {p for p in rendered if p.startswith("commit/")}
    assert commits == {f"commit/{sha[:12]}.html" for sha in (bases[1], old, new)}
    assert f"commit/{other[:12]}.html" not in rendered


def test_overview_ranks_the_best_experiments_of_the_newest_baselines(real_dvc_exp_site):
    repo, site = real_dvc_exp_site
    page = BeautifulSoup((site / "index.html").read_text(), "html.parser")
    section = page.find("section", class_="best-exps")
    metric = section.h2.code.get_text()
    cards = section.select(".card")
    assert len(cards) == 2  # both baselines, the newest first
    assert repo.baselines[1][:8] in cards[0].h3.get_text()
    names = [a.get_text() for a in cards[0].select("a.exp-name")]
    assert sorted(names) == ["[fast-lr]", "[long-run]", "[wide-net]"]
    values = [float(tr.find_all("td")[1].get_text()) for tr in cards[0].select("tbody tr")[1:]]
    lower_is_better = "lower is better" in section.h2.get_text()
    assert values == sorted(values, reverse=not lower_is_better), (metric, values)
    link = cards[0].find("a", string=lambda s: s and "compare these" in s)["href"]
    assert link.startswith("compare.html#sel=") and link.count(",") == 3
