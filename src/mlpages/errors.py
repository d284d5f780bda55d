"""One exception family for expected failures: the CLI turns them into one clear line."""


class MlpagesError(Exception):
    """An expected failure caused by input or environment, reported without a traceback."""

    exit_code = 1


class NotAGitRepository(MlpagesError):
    """The path is not inside a git work tree."""


class NotADvcRepository(MlpagesError):
    """The repository has no DVC files at all."""


class ShallowClone(MlpagesError):
    """History is truncated; CI users must fetch the full history (fetch-depth: 0)."""


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


class ObjectMismatch(DataError):
    """A DVC object does not hash to the md5 that names it (tampered or corrupt): not used."""
