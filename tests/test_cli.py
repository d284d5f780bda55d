import subprocess
import sys

import click
import pytest

from mlpages.cli import COMMANDS, cli


def test_every_command_imports_and_has_help():
    for name in COMMANDS:
        command = cli.get_command(None, name)
        assert command is not None, name
        assert command.help or command.short_help, f"{name} has no help text"


def test_version_runs_as_module():
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "--version"], capture_output=True, text=True, check=True
    )
    assert "mlpages" in out.stdout


def test_ctx_exit_code_reaches_the_shell(tmp_path):
    # `mlpages validate` on a missing batch is an expected failure: one line, non-zero exit.
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "validate", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr


def test_unknown_command_fails():
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "no-such-command"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "No such command" in out.stderr


def test_build_warns_on_a_shallow_clone(make_repo, tmp_path):
    repo = make_repo()
    (repo.path / ".dvc").mkdir()
    (repo.path / ".dvc" / "config").write_text("")
    for i in range(3):
        repo.commit(f"run {i}", {"params.yaml": f"lr: {i}\n", "dvc.yaml": "stages: {}\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", repo.path.as_uri(), str(shallow)], check=True
    )
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "build", str(shallow), "--out", str(tmp_path / "s")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "shallow" in out.stderr and "fetch-depth: 0" in out.stderr


def test_an_unknown_revision_is_its_own_expected_failure(make_repo):
    """`snapshot_of` and `mlpages diff` name a missing revision with one class, one line, exit 1."""
    from mlpages.config import Config
    from mlpages.errors import MlpagesError, UnknownRevision
    from mlpages.history.collect import snapshot_of

    repo = make_repo([("one", {".dvc/config": "", "dvc.yaml": "stages: {}\n"})])
    with pytest.raises(UnknownRevision, match="unknown revision 'nope'"):
        snapshot_of(repo.path, "nope", Config())
    assert issubclass(UnknownRevision, MlpagesError) and UnknownRevision.exit_code == 1
    out = subprocess.run(
        [sys.executable, "-m", "mlpages", "diff", "nope", "HEAD", "--repo", str(repo.path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"mlpages: error: unknown revision 'nope' in {repo.path}"
    ]


def _all_commands() -> list[click.Command]:
    found = []
    for name in COMMANDS:
        command = cli.get_command(None, name)
        found.append(command)
        if isinstance(command, click.Group):
            found += list(command.commands.values())
    return found


def test_shared_options_have_one_shape_everywhere():
    """--repo, [REPO], --params, --report, --model, --reference come from commands/options.py."""
    shared = {"repo", "params_path", "report_path", "model_path", "reference_paths"}
    shapes: dict[tuple[str, str], set] = {}
    for command in _all_commands():
        for param in command.params:
            if param.name in shared:
                shape = (
                    tuple(param.opts),
                    param.default,
                    param.multiple,
                    type(param.type).__name__,
                    getattr(param.type, "file_okay", None),
                )
                shapes.setdefault((param.name, param.param_type_name), set()).add(shape)
    assert ("repo", "argument") in shapes and ("repo", "option") in shapes
    assert {key: len(found) for key, found in shapes.items()} == dict.fromkeys(shapes, 1), shapes
