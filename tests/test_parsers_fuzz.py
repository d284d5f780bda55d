"""Property-based tests: every parser takes arbitrary bytes and returns values or Problems."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpages.dvcfiles.data import parse_metrics, parse_params, parse_plot_table
from mlpages.dvcfiles.dotdvc import parse_artifacts_yaml, parse_dvc_file
from mlpages.dvcfiles.dvcyaml import parse_dvc_yaml
from mlpages.dvcfiles.lock import parse_dvc_lock, split_lock_sections, yaml_section
from mlpages.dvcfiles.lock_fast import parse_lock_section_fast
from mlpages.gitread.objects import parse_commit, parse_tree
from mlpages.models import PlotData, Problem
from mlpages.safe_yaml import TooLargeError, load_yaml, load_yaml_sized, object_size

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _yamlish() -> st.SearchStrategy[bytes]:
    """Random bytes, random text, and valid YAML/JSON of random shapes."""
    return st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        documents.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
        documents.map(lambda d: json.dumps(d).encode()),
        st.dictionaries(
            st.sampled_from(
                ["stages", "vars", "params", "metrics", "plots", "artifacts", "schema"]
            ),
            documents,
            max_size=4,
        ).map(lambda d: yaml.safe_dump(d).encode()),
    )


def _problems_ok(problems: tuple) -> None:
    assert isinstance(problems, tuple)
    assert all(isinstance(p, Problem) for p in problems)


@FAST
@given(_yamlish())
def test_dvc_yaml_never_raises(data):
    parsed = parse_dvc_yaml(data, "sub/dvc.yaml", lambda path: data)
    _problems_ok(parsed.problems)
    assert all(s.dvcfile == "sub/dvc.yaml" for s in parsed.stages)


@FAST
@given(_yamlish())
def test_dvc_lock_never_raises(data):
    cache: dict = {}
    lock = parse_dvc_lock(data, "dvc.lock", cache)
    _problems_ok(lock.problems)
    assert parse_dvc_lock(data, "dvc.lock", cache) == lock  # cached sections: same result
    assert parse_dvc_lock(b"schema: '2.0'\nstages:\n" + data, "dvc.lock").problems is not None


@FAST
@given(_yamlish())
def test_dvc_file_and_artifacts_never_raise(data):
    outs, problems = parse_dvc_file(data, "data/x.dvc")
    _problems_ok(problems)
    assert all(o.path for o in outs)
    _, problems = parse_artifacts_yaml(data, "artifacts.yaml")
    _problems_ok(problems)


@FAST
@given(_yamlish(), st.sampled_from(["p.yaml", "p.json", "p.toml", "p.py", "p.yml", "noext"]))
def test_params_and_metrics_never_raise(data, path):
    values, problems = parse_params(data, path)
    _problems_ok(problems)
    assert all(isinstance(k, str) for k in values)
    values, problems = parse_metrics(data, path)
    _problems_ok(problems)
    assert all(not isinstance(v, list | dict) for v in values.values())


@FAST
@given(
    st.one_of(_yamlish(), st.text(alphabet=',\t\n"0123456789.abe-', max_size=300).map(str.encode)),
    st.sampled_from(["p.csv", "p.tsv", "p.json", "p.yaml"]),
    st.booleans(),
    st.integers(0, 20),
)
def test_plot_tables_never_raise(data, path, header, max_rows):
    plot, problems = parse_plot_table(data, path, header=header, max_rows=max_rows)
    _problems_ok(problems)
    assert isinstance(plot, PlotData)
    assert all(len(row) == len(plot.columns) for row in plot.rows)
    if max_rows:
        assert len(plot.rows) <= max(max_rows, 0) or not plot.truncated


@FAST
@given(st.binary(max_size=400))
def test_git_object_parsers_never_raise(data):
    commit = parse_commit("0" * 40, data)
    assert isinstance(commit.subject, str)
    entries = parse_tree(data)
    assert all(len(e.sha) == 40 for e in entries)
    split = split_lock_sections(data)
    assert split is None or isinstance(split[1], list)


lock_values = st.one_of(
    st.integers(-1000, 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(alphabet="abcdefxyz_./-:# '\"019", min_size=1, max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True), lock_values, max_size=5
    ),
    st.lists(st.from_regex(r"[a-z][a-z0-9_/.]{0,10}", fullmatch=True), max_size=3),
    st.text(alphabet="abc -_./'\"", min_size=1, max_size=15),
)
def test_fast_lock_parser_matches_yaml(params, paths, cmd):
    """Sections as DVC writes them (via PyYAML's dumper): the fast parser agrees or declines."""
    stage = {
        "cmd": cmd,
        "deps": [{"path": p, "hash": "md5", "md5": "a" * 32, "size": 3} for p in paths],
    }
    if params:
        stage["params"] = {"params.yaml": params}
    text = yaml.safe_dump({"stages": {"st@1": stage}}, sort_keys=False)
    data = ("schema: '2.0'\n" + text).encode()
    split = split_lock_sections(data)
    if split is None:
        return
    for part in split[1]:
        fast = parse_lock_section_fast(part)
        if fast is None:
            continue
        expected = yaml_section(part)
        assert fast[0] == expected[0]
        got, want = fast[1], expected[1]
        assert (got.cmd, got.deps, got.outs) == (want.cmd, want.deps, want.outs)
        for (f1, k1, v1), (f2, k2, v2) in zip(got.params, want.params, strict=True):
            assert (f1, k1) == (f2, k2)
            same_nan = isinstance(v1, float) and math.isnan(v1) and math.isnan(v2)
            assert same_nan or (v1 == v2 and type(v1) is type(v2)), (v1, v2)


@FAST
@given(documents)
def test_the_node_budget_never_changes_what_fits(doc):
    """Under the budget, load_yaml reads exactly what PyYAML reads."""
    text = yaml.safe_dump(doc, allow_unicode=True)
    expected = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert repr(load_yaml(text)) == repr(expected)


@st.composite
def aliased_yaml(draw) -> str:
    """A mapping of anchored levels, each a scalar or a collection of earlier aliases."""
    leaf = st.one_of(st.integers(0, 999), st.from_regex(r"[a-z]{1,40}", fullmatch=True))
    lines = []
    for i in range(draw(st.integers(1, 8))):
        if i and draw(st.booleans()):
            refs = draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=6))
            items = [f"*n{j}" for j in refs] + [str(x) for x in draw(st.lists(leaf, max_size=2))]
            if draw(st.booleans()):
                body = "[" + ", ".join(items) + "]"
            else:
                body = "{" + ", ".join(f"k{k}: {v}" for k, v in enumerate(items)) + "}"
        else:
            body = str(draw(leaf))
        lines.append(f"n{i}: &n{i} {body}")
    return "\n".join(lines) + "\n# * an alias may follow\n"


@FAST
@given(aliased_yaml())
def test_expanded_size_counts_every_alias(text):
    """The memoised count of the composed graph equals a walk of what was built."""
    loaded, size = load_yaml_sized(text)
    assert size == object_size(loaded, 10**9)
    assert load_yaml(text, max_nodes=size) == loaded
    with pytest.raises(TooLargeError):
        load_yaml(text, max_nodes=size - 1)
