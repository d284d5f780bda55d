"""Every expected failure, one class each: the CLI turns them into one clear line and an exit code.

Exit codes: 1 for every class here unless it says otherwise (``ValidationFailed`` 2,
``GateRejected`` 3); click's usage errors are 2, an interrupt is 130.
"""


class MlpagesError(Exception):
    """An expected failure caused by input or environment, reported without a traceback."""

    exit_code = 1


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
    """Data validation found schema anomalies: the pipeline must stop."""

    exit_code = 2


class RegistryError(MlpagesError):
    """A registry command was refused (unknown artifact, bad version, ...)."""


class RemoteError(MlpagesError):
    """The DVC remote could not be reached or refused our credentials."""


class SiteError(MlpagesError):
    """The output folder cannot be used for the site."""


class StrictFailure(MlpagesError):
    """``--strict``: some commits had problems."""


class GateRejected(MlpagesError):
    """The gate rejected the candidate and --fail-on-reject was given."""

    exit_code = 3


class DemoError(MlpagesError):
    """The demo could not be built (a step failed, or the target folder is not a demo's)."""


class ObjectMismatch(DataError):
    """A DVC object does not hash to the md5 that names it (tampered or corrupt): not used."""
