"""The fast dvc.lock section parser reads folded, quoted and dot-leading values exactly as YAML.

Sections are written the way DVC writes dvc.lock (ruamel.yaml, its default width: long ``cmd``
and path values are folded over several lines, plain or quoted) and by PyYAML with a narrow
width; every section the fast parser accepts must equal what PyYAML's safe loader makes of it.
"""

from __future__ import annotations

import io
import math

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlpages.dvcfiles.lock import parse_dvc_lock, split_lock_sections, yaml_section
from mlpages.dvcfiles.lock_fast import parse_lock_section_fast

WORDS = st.text(alphabet="abcxyz019_./-:#'\" ()=,@;%&*![]{}|>?\\", min_size=1, max_size=14)
LONG_TEXT = st.lists(WORDS, min_size=1, max_size=14).map(" ".join)
PATHS = st.one_of(
    st.from_regex(r"\.?[a-z][a-z0-9_/.-]{0,60}", fullmatch=True),
    st.sampled_from([".calkit/envs/x.yaml", ".inf", ".nan", ".5", "._", ".", ".NaN", ".Inf"]),
    WORDS,
)
VALUES = st.one_of(
    st.integers(-1000, 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    PATHS,
    LONG_TEXT,
)


def _ruamel(doc: dict) -> str:
    dumper = YAML()
    dumper.default_flow_style = False
    buf = io.StringIO()
    dumper.dump(doc, buf)
    return buf.getvalue()


def _pyyaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=40)


def _assert_same(data: bytes) -> int:
    """Compare every section the fast parser accepts with YAML; how many it accepted."""
    split = split_lock_sections(data)
    if split is None:
        return 0
    accepted = 0
    for part in split[1]:
        fast = parse_lock_section_fast(part)
        if fast is None:
            continue
        accepted += 1
        expected = yaml_section(part)
        assert expected is not None, part
        assert fast[0] == expected[0]
        got, want = fast[1], expected[1]
        assert (got.cmd, got.deps, got.outs) == (want.cmd, want.deps, want.outs), part
        assert len(got.params) == len(want.params), part
        for (f1, k1, v1), (f2, k2, v2) in zip(got.params, want.params, strict=True):
            assert (f1, k1) == (f2, k2)
            same_nan = isinstance(v1, float) and math.isnan(v1) and math.isnan(v2)
            assert same_nan or (v1 == v2 and type(v1) is type(v2)), (v1, v2)
    return accepted


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(LONG_TEXT, st.lists(LONG_TEXT, min_size=1, max_size=3)),
    st.lists(PATHS, max_size=4),
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True), VALUES, max_size=4),
    st.booleans(),
)
def test_fast_parser_matches_yaml_on_folded_sections(cmd, paths, params, use_ruamel):
    stage: dict = {
        "cmd": cmd,
        "deps": [{"path": p, "hash": "md5", "md5": "a" * 32, "size": 3} for p in paths],
    }
    if params:
        stage["params"] = {"params.yaml": params}
    stage["outs"] = [{"path": p, "md5": "b" * 32 + ".dir", "nfiles": 2} for p in paths[:1]]
    doc = {"schema": "2.0", "stages": {"a-stage": stage, "b": {"cmd": "echo"}}}
    text = _ruamel(doc) if use_ruamel else _pyyaml(doc)
    _assert_same(text.encode())


def test_folded_commands_and_dot_paths_take_the_fast_path():
    long_cmd = (
        "calkit xenv -n matlab --no-check -- run_analysis --stage s1 --config "
        "mdocean/inputs/parameters.m --out results/s1 --figures paper/figures --seed 3"
    )
    quoted = "calkit xenv -- \"addpath(genpath('m')); run_figure('s2', struct('a', 0.5)); exit\""
    doc = {
        "schema": "2.0",
        "stages": {
            "s1": {"cmd": long_cmd, "deps": [{"path": ".calkit/envs/m.yaml", "md5": "c" * 32}]},
            "s2": {"cmd": quoted, "outs": [{"path": ".inf", "md5": "d" * 32}]},
        },
    }
    text = _ruamel(doc)
    assert "\n      --config" in text or "\n      " in text  # really folded
    assert _assert_same(text.encode()) == 2
    lock = parse_dvc_lock(text.encode(), "dvc.lock")
    assert lock.stages["s1"].cmd == long_cmd
    assert lock.stages["s1"].deps[0].path == ".calkit/envs/m.yaml"
    assert lock.stages["s2"].cmd == quoted
    assert lock.stages["s2"].outs[0].path == ".inf"  # quoted by the dumper: a string
