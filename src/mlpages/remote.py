"""Read DVC-cached objects from the repository's DVC remote over the S3 API.

Only the objects a build needs are fetched, one GET each, and kept in a local fetch cache so the
next build reads them from disk. Remote failures never stop a build: the first connection failure
marks the remote unavailable (so a dead server costs one timeout, not one per object), and the
caller records the objects as "not available" with the reason.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlpages.errors import RemoteError

if TYPE_CHECKING:
    from mlpages.dvccache import ObjectSource


@dataclass(frozen=True)
class RemoteConfig:
    """A DVC remote as configured in ``.dvc/config`` (+ ``config.local``)."""

    name: str
    url: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None

    @property
    def bucket_and_prefix(self) -> tuple[str, str]:
        rest = self.url.split("://", 1)[1]
        bucket, _, prefix = rest.partition("/")
        return bucket, prefix.strip("/")


def _read_dvc_config(repo_root: Path) -> dict[str, dict[str, str]]:
    """Merge ``.dvc/config`` and ``.dvc/config.local`` (INI-like, DVC's configobj format)."""
    from configobj import ConfigObj, ConfigObjError

    merged: dict[str, dict[str, str]] = {}
    for name in ("config", "config.local"):
        path = repo_root / ".dvc" / name
        if not path.is_file():
            continue
        try:
            parsed = ConfigObj(str(path), encoding="utf-8", interpolation=False)
        except (ConfigObjError, UnicodeDecodeError) as exc:
            raise RemoteError(f"{path}: cannot parse DVC config: {exc}") from None
        for section, values in parsed.items():
            if isinstance(values, dict):
                merged.setdefault(section, {}).update({k: str(v) for k, v in values.items()})
    return merged


def read_remote_config(repo_root: Path, name: str | None = None) -> RemoteConfig | None:
    """The named remote, or the default remote (``core.remote``); None when there is none."""
    config = _read_dvc_config(repo_root)
    if name is None:
        name = config.get("core", {}).get("remote")
    if not name:
        return None
    section = config.get(f"'remote \"{name}\"'") or config.get(f'remote "{name}"')
    if section is None or "url" not in section:
        return None
    return RemoteConfig(
        name=name,
        url=section["url"],
        endpoint_url=section.get("endpointurl"),
        region=section.get("region"),
        profile=section.get("profile"),
        access_key_id=section.get("access_key_id"),
        secret_access_key=section.get("secret_access_key"),
    )


def _plausible_md5(md5: str) -> bool:
    core = md5.removesuffix(".dir")
    return 3 <= len(core) <= 64 and all(c in "0123456789abcdef" for c in core)


def remote_source(root: Path, fetch_cache: Path) -> ObjectSource | None:
    """The repository's default DVC remote as an object source: S3, or a local folder."""
    try:
        remote = read_remote_config(root)
    except RemoteError:
        return None
    if remote is not None and ("://" not in remote.url or remote.url.startswith("file://")):
        from mlpages.dvccache import LocalCache

        # A folder remote has the cache's layout; relative paths are relative to .dvc/.
        folder = Path(os.path.expanduser(remote.url.removeprefix("file://")))
        return LocalCache((root / ".dvc" / folder).resolve(), name="remote")
    if remote is None or not remote.url.startswith("s3://"):
        return None
    return S3ObjectSource(remote, fetch_cache)


def object_key(prefix: str, md5: str, legacy: bool) -> str:
    """The key of an object in a DVC remote: DVC 3 ``files/md5/ab/cd…``, legacy ``ab/cd…``."""
    tail = f"{md5[:2]}/{md5[2:]}"
    key = tail if legacy else f"files/md5/{tail}"
    return f"{prefix}/{key}" if prefix else key


class S3ObjectSource:
    """Fetches DVC objects from an S3-compatible remote, caching them under ``fetch_cache``.

    Implements :class:`mlpages.dvccache.ObjectSource`; tried after the local DVC cache.
    """

    name = "remote"

    def __init__(self, remote: RemoteConfig, fetch_cache: Path, timeout: float = 5.0) -> None:
        if not remote.url.startswith("s3://"):
            raise RemoteError(f"remote {remote.name!r}: only s3:// remotes are read ({remote.url})")
        self.remote = remote
        self.fetch_cache = fetch_cache
        self.timeout = timeout
        self.unavailable: str | None = None  # the reason, once the remote failed
        self.fetched = 0
        self._client = None
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return f"remote {self.remote.name} ({self.remote.url})"

    def _make_client(self):
        import boto3
        from botocore.config import Config as BotoConfig

        session = (
            boto3.session.Session(profile_name=self.remote.profile)
            if (self.remote.profile)
            else boto3.session.Session()
        )
        return session.client(
            "s3",
            endpoint_url=self.remote.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or None,
            region_name=self.remote.region or os.environ.get("AWS_REGION") or "us-east-1",
            aws_access_key_id=self.remote.access_key_id,
            aws_secret_access_key=self.remote.secret_access_key,
            config=BotoConfig(
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                retries={"max_attempts": 1, "mode": "standard"},
            ),
        )

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        """The object's bytes; None if the remote does not have it or is unavailable."""
        local = self.fetch_cache / object_key("", md5, legacy)
        if local.is_file():
            return local.read_bytes()
        if self.unavailable or not _plausible_md5(md5):
            return None
        data = self._get(md5, legacy)
        if data is not None and max_bytes is not None and len(data) > max_bytes:
            return None
        if data is not None:
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f"{local.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(local)
            self.fetched += 1
        return data

    def has(self, md5: str, legacy: bool) -> bool:
        """True when the object is in the fetch cache or the remote answers HEAD for it."""
        if (self.fetch_cache / object_key("", md5, legacy)).is_file():
            return True
        if self.unavailable or not _plausible_md5(md5):
            return False
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, prefix = self.remote.bucket_and_prefix
        try:
            self._ensure_client().head_object(Bucket=bucket, Key=object_key(prefix, md5, legacy))
        except ClientError:
            return False
        except BotoCoreError as exc:
            self.unavailable = f"{self.label}: unreachable ({type(exc).__name__}: {exc})"
            return False
        return True

    def _ensure_client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
        return self._client

    def _get(self, md5: str, legacy: bool) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        bucket, prefix = self.remote.bucket_and_prefix
        key = object_key(prefix, md5, legacy)
        try:
            return self._ensure_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except NoCredentialsError:
            self.unavailable = f"{self.label}: no credentials (set AWS_ACCESS_KEY_ID/SECRET)"
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
                self.unavailable = f"{self.label}: credentials refused ({code})"
            elif code == "NoSuchBucket":
                self.unavailable = f"{self.label}: bucket {bucket!r} does not exist"
            else:
                self.unavailable = f"{self.label}: server error {code or exc}"
        except BotoCoreError as exc:
            self.unavailable = f"{self.label}: unreachable ({type(exc).__name__}: {exc})"
        return None
