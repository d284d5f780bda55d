"""Every expected failure, one class each, and every exit code of the command line.

An expected failure is a :class:`click.ClickException` (the mkdocs pattern): ``mlpages.cli.main``
shows it as one line ``mlpages: error: …`` and exits with its class's code, in the one place it
also handles click's own usage errors. :data:`EXIT_CODES` is the README's exit-code table.
"""

from __future__ import annotations

from typing import IO, Any

import click

# Every exit code of `mlpages`; the README's "Exit codes" table says the same (a test checks).
EXIT_CODES: dict[int, str] = {
    0: "success; drift, and a gate rejection without `--fail-on-reject`, are success too",
    1: "an expected failure, one line `mlpages: error: …` (input, configuration, repository, "
    "environment), and `--strict` problems",
    2: "a usage error: unknown command or option, bad option value (click)",
    3: "`mlpages gate --fail-on-reject`: the gate rejected the candidate",
    4: "`mlpages validate`: the batch has schema anomalies (the pipeline must stop)",
    130: "interrupted (Ctrl-C)",
}


class MlpagesError(click.ClickException):
    """An expected failure caused by input or environment, reported without a traceback."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one line ``mlpages: error: …`` (stderr unless ``file`` is given)."""
        click.echo(f"mlpages: error: {self.format_message()}", file=file, err=True)


class NotAGitRepository(MlpagesError):
    """The path is not inside a git work tree."""


class NotADvcRepository(MlpagesError):
    """The repository has no DVC files at all."""


class ShallowClone(MlpagesError):
    """History is truncated; CI users must fetch the full history (fetch-depth: 0)."""


class UnknownRevision(MlpagesError):
    """A revision named on the command line is not a commit of the repository."""


class ConfigError(MlpagesError):
    """A configuration value is missing or invalid."""


class DataError(MlpagesError):
    """A data file cannot be read (unreadable CSV, empty file, wrong encoding)."""


class ValidationFailed(MlpagesError):
    """Data validation found schema anomalies: the pipeline must stop (its own code, not 2)."""

    exit_code = 4


class RegistryError(MlpagesError):
    """A registry command was refused (unknown artifact, bad version, ...)."""


class RemoteError(MlpagesError):
    """The DVC remote could not be reached or refused our credentials."""


class SiteError(MlpagesError):
    """The output folder cannot be used for the site."""


class StrictFailure(MlpagesError):
    """``--strict``: some commits had problems."""


class CheckFailed(MlpagesError):
    """``mlpages check``: the work tree has problems (listed before this line)."""


class InitError(MlpagesError):
    """``mlpages init`` cannot adopt this repository as asked (it says what to do instead)."""


class GateRejected(MlpagesError):
    """The gate rejected the candidate and --fail-on-reject was given."""

    exit_code = 3


class DemoError(MlpagesError):
    """The demo could not be built (a step failed, or the target folder is not a demo's)."""


class ObjectMismatch(DataError):
    """A DVC object does not hash to the md5 that names it (tampered or corrupt): not used."""
