"""Read DVC-cached objects from the repository's DVC remote over the S3 API.

Only the objects a build needs are fetched, one GET each, and kept in a local fetch cache so the
next build reads them from disk. Remote failures never stop a build: the first connection failure
marks the remote unavailable (so a dead server costs one timeout, not one per object), and the
caller records the objects as "not available" with the reason. Nothing enters the fetch cache, and
nothing is served from it, unless it hashes to its md5 (:mod:`mlpages.objects.objectid`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from mlpages.errors import RemoteError
from mlpages.objects.dvcconfig import RemoteConfig
from mlpages.objects.local import read_capped
from mlpages.objects.objectid import is_md5, object_file, object_relpath, verified

S3_MISSING = "the S3 client libraries are not installed (pip install 'mlpages[s3]')"


class S3ObjectSource:
    """Fetches DVC objects from an S3-compatible remote, caching them under ``fetch_cache``.

    Implements :class:`mlpages.objects.store.ObjectSource`; tried after the local DVC cache.
    ``fetch_cache=None``: nothing is kept.
    """

    name = "remote"

    def __init__(
        self, remote: RemoteConfig, fetch_cache: Path | None, timeout: float = 5.0
    ) -> None:
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

    def _key(self, md5: str, legacy: bool) -> str:
        """The object's key in the bucket: DVC's layout below the remote's prefix."""
        prefix = self.remote.bucket_and_prefix[1]
        rel = object_relpath(md5, legacy)
        return f"{prefix}/{rel}" if prefix else rel

    def _fetched_file(self, md5: str, legacy: bool) -> Path | None:
        """The object's place in the fetch cache; None without one, or for a link out of it."""
        return None if self.fetch_cache is None else object_file(self.fetch_cache, md5, legacy)

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        """The object's bytes; None if the remote does not have it or is unavailable.

        A fetch-cache copy is served only when it verifies, else the object is fetched again;
        fetched bytes are kept only when they verify. Whatever is returned may still be a bad
        copy (nothing better was found): the caller verifies it and reports the mismatch.
        """
        if not is_md5(md5):
            return None
        local = self._fetched_file(md5, legacy)
        kept = read_capped(local, max_bytes)
        if kept is not None and verified(md5, kept, legacy):
            return kept
        data = None if self.unavailable else self._get(md5, legacy)
        if data is None:
            return kept
        self.fetched += 1
        if max_bytes is not None and len(data) > max_bytes:
            return None
        if local is not None and verified(md5, data, legacy):
            self._keep(local, data)
        return data

    def _keep(self, local: Path, data: bytes) -> None:
        """Write a verified object into the fetch cache (atomically; a full disk only skips it)."""
        tmp = local.with_name(f"{local.name}.{os.getpid()}.tmp")
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(local)
        except OSError:
            return

    def _botocore_errors(self):
        """botocore's exceptions module; None (the remote unavailable) without the S3 libraries."""
        try:
            import boto3  # noqa: F401  (the client is made from it)
            from botocore import exceptions
        except ImportError:  # a plain `pip install mlpages`: no boto3
            self.unavailable = f"{self.label}: {S3_MISSING}"
            return None
        return exceptions

    def has(self, md5: str, legacy: bool) -> bool:
        """True when the object is in the fetch cache or the remote answers HEAD for it."""
        if not is_md5(md5):
            return False
        local = self._fetched_file(md5, legacy)
        if local is not None and local.is_file():
            return True
        errors = None if self.unavailable else self._botocore_errors()
        if errors is None:
            return False
        bucket = self.remote.bucket_and_prefix[0]
        try:
            self._ensure_client().head_object(Bucket=bucket, Key=self._key(md5, legacy))
        except errors.ClientError:
            return False
        except errors.BotoCoreError as exc:
            self.unavailable = f"{self.label}: unreachable ({type(exc).__name__}: {exc})"
            return False
        return True

    def _ensure_client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
        return self._client

    def _get(self, md5: str, legacy: bool) -> bytes | None:
        errors = self._botocore_errors()
        if errors is None:
            return None
        bucket = self.remote.bucket_and_prefix[0]
        key = self._key(md5, legacy)
        try:
            return self._ensure_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except errors.NoCredentialsError:
            self.unavailable = f"{self.label}: no credentials (set AWS_ACCESS_KEY_ID/SECRET)"
        except errors.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
                self.unavailable = f"{self.label}: credentials refused ({code})"
            elif code == "NoSuchBucket":
                self.unavailable = f"{self.label}: bucket {bucket!r} does not exist"
            else:
                self.unavailable = f"{self.label}: server error {code or exc}"
        except errors.BotoCoreError as exc:
            self.unavailable = f"{self.label}: unreachable ({type(exc).__name__}: {exc})"
        return None
