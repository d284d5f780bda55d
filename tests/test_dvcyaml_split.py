"""dvc.yaml read stage by stage (cached sections) gives exactly what the whole-file parse gives."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlpages.dvcfiles.dvcyaml import parse_dvc_yaml
from mlpages.dvcfiles.dvcyaml_split import load_split

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
PATHS = st.from_regex(r"\.?[a-z][a-z0-9_/.-]{0,20}", fullmatch=True)
TEXT = st.text(alphabet="abc xyz-_./:#'\"&*![]{}|>", min_size=1, max_size=30)
STAGE = st.fixed_dictionaries(
    {"cmd": st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=2))},
    optional={
        "deps": st.lists(PATHS, max_size=4),
        "outs": st.lists(
            st.one_of(PATHS, st.dictionaries(PATHS, st.just({"cache": False}))), max_size=3
        ),
        "params": st.lists(NAMES, max_size=2),
        "wdir": PATHS,
        "frozen": st.booleans(),
        "desc": TEXT,
    },
)


def _same(data: bytes) -> None:
    cache: dict = {}
    whole = parse_dvc_yaml(data, "sub/dvc.yaml")
    assert parse_dvc_yaml(data, "sub/dvc.yaml", sections=cache) == whole
    assert parse_dvc_yaml(data, "sub/dvc.yaml", sections=cache) == whole  # from the cache


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(NAMES, STAGE, min_size=1, max_size=4), st.booleans(), st.booleans())
def test_split_parse_equals_whole_parse(stages, plots_first, flow):
    doc: dict = {"plots": [{"p.csv": {"x": "a"}}]} if plots_first else {}
    doc["stages"] = stages
    doc["metrics"] = ["m.json"]
    _same(yaml.safe_dump(doc, sort_keys=False, default_flow_style=flow, width=40).encode())


def test_the_split_path_is_taken_and_odd_files_are_not_split():
    text = (
        b"# pipeline\nstages:\n  a:\n    cmd: python a.py\n    outs:\n    - .calkit/a\n"
        b"  # a comment\n  b:\n    cmd: python b.py\n    deps:\n    - .calkit/a\n"
        b"metrics:\n- m.json\n"
    )
    raw = load_split(text, 10_000, {})
    assert raw == yaml.safe_load(text)
    _same(text)
    for odd in (
        text.replace(b"python a.py", b"${cmd}"),  # templating
        b"vars:\n- x: 1\n" + text,
        text.replace(b"  a:\n", b"  a: &x\n").replace(
            b"  b:\n    cmd: python b.py\n", b"  b: *x\n"
        ),
        b"---\n" + text,
        text.replace(b"\n  b:", b"\n  'b':"),
        text.replace(b"\nstages:\n", b"\nstages: # x\n"),
        text + b"stages: {}\n",
    ):
        assert load_split(odd, 10_000, {}) is None
        _same(odd)


def test_a_syntax_error_in_one_stage_is_the_whole_file_error():
    text = b"stages:\n  a:\n    cmd: [unclosed\n  b:\n    cmd: ok\n"
    assert load_split(text, 10_000, {}) is None
    _same(text)
    assert parse_dvc_yaml(text, "dvc.yaml", sections={}).problems[0].kind == "yaml-error"


def test_the_node_budget_still_applies():
    text = b"stages:\n" + b"".join(b"  s%d:\n    cmd: echo %d\n" % (i, i) for i in range(50))
    cache: dict = {}
    whole = parse_dvc_yaml(text, "dvc.yaml", max_nodes=60)
    assert parse_dvc_yaml(text, "dvc.yaml", max_nodes=60, sections=cache) == whole
    assert whole.problems and whole.problems[0].kind == "too-large"
