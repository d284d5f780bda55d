"""Settings declared once, one loader, one error format (settings.py): one test per rule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.cli import mlpages

from mlpages.config import OPTIONS, Config, config_from_mapping, load_config
from mlpages.errors import ConfigError
from mlpages.settings import (
    load_section,
    load_sections,
    options_of,
    parse_yaml_mapping,
    read_yaml_section,
    setting,
)


@dataclass(frozen=True)
class Inner:
    """A nested section."""

    share: float = setting(0.5, minimum=0, help="A share.")
    method: str = setting("auto", choices=("auto", "ks"), help="A method.")


@dataclass(frozen=True)
class Sample:
    """Every kind of setting the loader converts."""

    name: str = setting("x", help="A name.")
    flag: bool = setting(False, help="A flag.")
    count: int = setting(4, minimum=1, help="A count.")
    level: float = setting(0.5, help="A level.")
    columns: tuple[str, ...] = setting((), help="Some columns.")
    floors: dict[str, float] = setting(factory=dict, help="Floors per metric.")
    directions: dict[str, str] = setting(
        factory=dict, choices=("higher", "lower"), help="Directions per metric."
    )
    requests: int | str = setting(5, minimum=0, help="A count or a file.")
    inner: Inner = setting(factory=lambda: Inner(share=0.25), help="A nested section.")


@dataclass(frozen=True)
class Other:
    """A second class sharing the section."""

    every: int = setting(0, minimum=0, help="Every N.")


def load(raw: object) -> Sample:
    return load_section(Sample, raw, "params.yaml", "sample")


def fails(raw: object) -> str:
    with pytest.raises(ConfigError) as info:
        load(raw)
    return str(info.value)


def test_the_issue_example_is_the_message_of_the_gate_section():
    from mlpages.ct.gate_rules import gate_settings

    with pytest.raises(ConfigError) as info:
        gate_settings({"floors": {"roc_auc": "high"}}, "params.yaml")
    assert str(info.value) == "params.yaml: gate.floors.roc_auc: expected a number, got 'high'"


def test_the_issue_example_from_the_command_line(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("gate:\n  floors: {roc_auc: high}\n")
    done = mlpages("gate", cwd=tmp_path, ok=(1,))
    assert done.stderr.strip().splitlines() == [
        "mlpages: error: params.yaml: gate.floors.roc_auc: expected a number, got 'high'"
    ]


def test_unknown_setting_names_the_known_ones():
    assert fails({"nmae": "y"}) == (
        "params.yaml: sample.nmae: unknown setting (known: name, flag, count, level, columns, "
        "floors, directions, requests, inner)"
    )


def test_a_section_that_is_not_a_mapping():
    assert fails([1, 2]) == "params.yaml: sample: expected a mapping, got [1, 2]"


def test_null_means_the_default_everywhere():
    assert load(None) == Sample()
    assert load({"count": None, "inner": None, "floors": None}) == Sample()


def test_str_takes_text_and_numbers_but_not_booleans_or_lists():
    assert load({"name": "label"}).name == "label"
    assert load({"name": 1}).name == "1"  # `label: 1` is an int in YAML
    assert fails({"name": True}) == "params.yaml: sample.name: expected a string, got True"
    assert fails({"name": ["a"]}) == "params.yaml: sample.name: expected a string, got ['a']"


def test_str_choices():
    assert load({"inner": {"method": "ks"}}).inner.method == "ks"
    assert fails({"inner": {"method": "chi2"}}) == (
        "params.yaml: sample.inner.method: expected one of auto, ks, got 'chi2'"
    )


def test_bool_is_true_or_false_only():
    assert load({"flag": True}).flag is True
    assert fails({"flag": "yes"}) == "params.yaml: sample.flag: expected true or false, got 'yes'"
    assert fails({"flag": 1}) == "params.yaml: sample.flag: expected true or false, got 1"


def test_int_is_an_integer_not_a_bool_nor_a_fraction_with_its_minimum():
    assert load({"count": 2}).count == 2
    assert fails({"count": 2.5}) == "params.yaml: sample.count: expected an integer >= 1, got 2.5"
    assert fails({"count": True}) == "params.yaml: sample.count: expected an integer >= 1, got True"
    assert fails({"count": 0}) == "params.yaml: sample.count: expected an integer >= 1, got 0"


def test_float_is_any_number_not_a_bool():
    loaded = load({"level": 1})
    assert loaded.level == 1.0 and isinstance(loaded.level, float)
    assert fails({"level": "high"}) == "params.yaml: sample.level: expected a number, got 'high'"
    assert fails({"level": False}) == "params.yaml: sample.level: expected a number, got False"


def test_a_minimum_refuses_nan():
    with pytest.raises(ConfigError, match=r"sample\.inner\.share: expected a number >= 0, got nan"):
        load({"inner": {"share": math.nan}})


def test_tuple_of_names_is_a_list_never_a_bare_string():
    assert load({"columns": ["id", "ts"]}).columns == ("id", "ts")
    assert fails({"columns": "id"}) == (
        "params.yaml: sample.columns: expected a list of names, got 'id'"
    )
    assert fails({"columns": ["id", None]}) == (
        "params.yaml: sample.columns[1]: expected a string, got None"
    )


def test_dict_values_are_converted_and_choices_apply_to_them():
    loaded = load({"floors": {"roc_auc": 1, 7: 0.5}, "directions": {"brier": "lower"}})
    assert loaded.floors == {"roc_auc": 1.0, "7": 0.5}
    assert loaded.directions == {"brier": "lower"}
    assert fails({"floors": [0.7]}) == "params.yaml: sample.floors: expected a mapping, got [0.7]"
    assert fails({"directions": {"roc_auc": "up"}}) == (
        "params.yaml: sample.directions.roc_auc: expected one of higher, lower, got 'up'"
    )


def test_a_union_takes_the_first_alternative_that_fits_exactly():
    assert load({"requests": 3}).requests == 3
    assert load({"requests": "canned.csv"}).requests == "canned.csv"
    # -1 is no count, and a number is not turned into a file name inside a union.
    assert fails({"requests": -1}) == (
        "params.yaml: sample.requests: expected an integer >= 0 or a string, got -1"
    )


def test_a_nested_section_loads_over_the_fields_default():
    assert load({"inner": {"method": "ks"}}).inner == Inner(share=0.25, method="ks")
    assert fails({"inner": {"treshold": 1}}) == (
        "params.yaml: sample.inner.treshold: unknown setting (known: share, method)"
    )
    assert fails({"inner": 3}) == "params.yaml: sample.inner: expected a mapping, got 3"


def test_a_long_value_is_cut_in_the_message():
    message = fails({"name": ["x" * 200]})
    assert len(message) < 120 and message.endswith("…")


def test_load_sections_splits_one_section_between_classes():
    sample, other = load_sections({"count": 2, "every": 3}, "params.yaml", "monitor", Sample, Other)
    assert sample.count == 2 and other.every == 3
    with pytest.raises(ConfigError, match=r"^params\.yaml: monitor\.treshold: unknown setting"):
        load_sections({"treshold": 3}, "params.yaml", "monitor", Sample, Other)
    with pytest.raises(ConfigError, match=r"monitor\.every: expected an integer >= 0, got -1"):
        load_sections({"every": -1}, "params.yaml", "monitor", Sample, Other)


def test_ignore_unknown_reads_only_the_classes_own_keys():
    assert load_section(Other, {"every": 2, "count": "x"}, "p", ignore_unknown=True) == Other(2)


def test_options_are_the_fields_with_their_help():
    options = {o.name: o for o in options_of(Sample)}
    assert options["count"].type is int and options["count"].default == 4
    assert options["count"].minimum == 1 and options["count"].help == "A count."
    assert options["directions"].choices == ("higher", "lower")
    assert options["inner"].default == Inner(share=0.25)


def test_every_setting_of_the_product_has_help():
    from mlpages.ct.drift import DriftSettings
    from mlpages.ct.gate_rules import GateSettings
    from mlpages.ct.monitor import MonitorSettings
    from mlpages.ct.monitor_run import MonitorIO
    from mlpages.ct.trigger import TriggerSettings
    from mlpages.ct.validate import ValidateSettings

    classes = (DriftSettings, GateSettings, MonitorSettings, MonitorIO, TriggerSettings)
    for cls in (Config, ValidateSettings, *classes):
        for option in options_of(cls):
            assert option.help, f"{cls.__name__}.{option.name}"
    assert [o.name for o in OPTIONS][:3] == ["title", "default_branch", "key_metrics"]


def test_mlpages_yaml_messages_name_the_file_then_the_option(tmp_path: Path):
    (tmp_path / "mlpages.yaml").write_text("max_plot_rows: many\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'mlpages.yaml'}: max_plot_rows: expected an integer >= 0, got 'many'"
    )
    (tmp_path / "mlpages.yaml").write_text("- title\n")
    with pytest.raises(ConfigError, match=r"mlpages\.yaml: expected a mapping, got \['title'\]"):
        load_config(tmp_path)


def test_config_accepts_dashes_and_merges_the_report_paths():
    config = config_from_mapping(
        {"key-metrics": ["auc"], "reports": {"gate": "out/gate.json"}}, "mlpages.yaml"
    )
    assert config.key_metrics == ("auc",)
    assert config.reports["gate"] == "out/gate.json"
    assert config.reports["drift"] == "reports/drift.json"


def test_pyproject_table_goes_through_the_same_loader(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.mlpages]\nremote_fetch = 'no'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'pyproject.toml'} [tool.mlpages]: remote_fetch: "
        "expected true or false, got 'no'"
    )


def test_yaml_readers(tmp_path: Path):
    params = tmp_path / "params.yaml"
    assert read_yaml_section(tmp_path / "absent.yaml", "gate") == {}
    assert read_yaml_section(None, "gate") == {}
    params.write_text("gate:\nvalidate: {window: 2}\n")
    assert read_yaml_section(params, "gate") == {}
    assert read_yaml_section(params, "validate") == {"window": 2}
    params.write_text("gate: [1]\n")
    with pytest.raises(ConfigError, match=r"params\.yaml: gate: expected a mapping, got \[1\]$"):
        read_yaml_section(params, "gate")
    params.write_text("gate: {a: [}\n")
    with pytest.raises(ConfigError, match=r"params\.yaml: not valid YAML: "):
        read_yaml_section(params, "gate")
    params.write_bytes(b"gate: \xff\n")
    with pytest.raises(ConfigError, match=r"params\.yaml: not UTF-8 text$"):
        read_yaml_section(params, "gate")
    assert parse_yaml_mapping("", "mlpages.yaml") == {}
