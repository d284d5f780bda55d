"""One-line reasons for a DVC remote that cannot be read, whatever its client library raised.

DVC's filesystems raise their own clients' errors (botocore, aiohttp, asyncssh, azure-core,
google-auth…); a build shows each as the one line a user can act on: the plugin to install, no
credentials, credentials refused, the server unreachable, or the error as the client worded it.
"""

from __future__ import annotations

import logging
import os
import re

# pip extras of mlpages (pyproject.toml) for DVC's plugins; other schemes name the plugin itself.
EXTRAS = {
    "s3": "s3",
    "gs": "gs",
    "azure": "azure",
    "ssh": "ssh",
    "webdav": "webdav",
    "webdavs": "webdav",
}
PLUGINS = {
    "hdfs": "dvc-hdfs",
    "webhdfs": "dvc-webhdfs",
    "oss": "dvc-oss",
    "gdrive": "dvc-gdrive",
    "http": "dvc-http",
    "https": "dvc-http",
}
# Environment for the build process: no cloud metadata probes (each costs seconds off a cloud
# machine), no experimental GCS bucket-type lookups.
QUIET_ENVIRONMENT = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_GCE_CHECK": "true",
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
}
QUIET_LOGGERS = (
    "botocore",
    "aiobotocore",
    "s3fs",
    "aiohttp",
    "aiohttp_retry",
    "asyncssh",
    "azure",
    "adlfs",
    "gcsfs",
    "google",
    "urllib3",
    "httpx",
    "webdav4",
    "fsspec",
    "dvc",
    "dvc_objects",
    "dvc_data",
)
REFUSED_CODES = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "Forbidden",
    "Unauthorized",
    "401",
    "403",
)
MISSING_CREDENTIALS = ("NoCredentialsError", "DefaultCredentialsError", "CredentialUnavailable")
UNREACHABLE = (
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "TimeoutError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectTimeout",
    "ReadTimeout",
    "ConnectError",
    "ServiceRequestError",
    "ChannelOpenError",
    "DisconnectError",
    "gaierror",
)


def quiet_cloud_clients() -> None:
    """Set the quiet environment (unless the user set it) and silence the clients' loggers."""
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def plugin_missing(scheme: str, exc: BaseException) -> str:
    """The install command for a remote whose DVC plugin is not importable."""
    extra = EXTRAS.get(scheme)
    if extra is not None:
        package = "dvc-s3" if extra == "s3" else f"dvc-{extra}"
        how = f"pip install 'mlpages[{extra}]' (or {package})"
    else:
        how = f"pip install {PLUGINS.get(scheme, f'the DVC plugin for {scheme}://')}"
    return f"the DVC plugin for {scheme}:// remotes is not installed: {how}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


# Client errors quote URLs: never repeat credentials in them (user:password@, signed queries).
_USERINFO = re.compile(r"(\w+://)[^/@\s'\"]+@")
_QUERY = re.compile(r"(\w+://[^\s?'\"]+)\?[^\s'\"]*")


def redact(text: str) -> str:
    """``text`` without the user-info and query strings of the URLs in it."""
    return _QUERY.sub(r"\1?…", _USERINFO.sub(r"\1…@", text))


def _short(exc: BaseException) -> str:
    text = redact(" ".join(str(exc).split()))[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _status(exc: BaseException) -> str:
    """An HTTP status or a service's error code carried by the exception, as text."""
    for attr in ("status", "status_code", "code", "error_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int | str) and str(value):
            return str(value)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def describe_failure(exc: BaseException) -> str:
    """Why a request to the remote failed, in one line (its cause, then the client's words)."""
    chain = _chain(exc)
    names = [type(e).__name__ for e in chain]
    if "RepoConfigError" in names or "ConfigError" in names:
        text = str(
            chain[names.index("RepoConfigError" if "RepoConfigError" in names else "ConfigError")]
        )
        if "Unsupported URL type" in text:
            return f"unknown remote type ({' '.join(text.split())[:160]})"
        return f"DVC refuses its configuration ({' '.join(text.split())[:200]})"
    if any(name in MISSING_CREDENTIALS for name in names):
        return f"no credentials ({_short(chain[-1])})"
    for link in chain:
        code = _status(link)
        text = str(link)
        if (
            isinstance(link, PermissionError)
            or code in REFUSED_CODES
            or any(c in text for c in REFUSED_CODES[:6])
        ):
            return f"credentials refused ({_short(link)})"
    for link in chain:
        if type(link).__name__ in UNREACHABLE or isinstance(link, ConnectionError | TimeoutError):
            return f"unreachable ({_short(link)})"
    if any(isinstance(link, OSError) and link.errno for link in chain):
        return f"unreachable ({_short(exc)})"
    return f"error ({_short(exc)})"


DEFAULT_PORTS = {"http": 80, "https": 443, "webdav": 80, "webdavs": 443, "ssh": 22, "s3": 443}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def endpoint_of(scheme: str, url: str, settings: dict) -> tuple[str, int] | None:
    """The host and port a remote's client connects to, when the configuration says it."""
    from urllib.parse import urlparse

    if scheme == "s3":
        url = str(settings.get("endpointurl") or "")
    elif scheme == "gs":  # gcsfs retries a refused connection for ≈ 35 s
        emulator = os.environ.get("STORAGE_EMULATOR_HOST", "")
        if emulator and emulator != "default" and "://" not in emulator:
            emulator = f"http://{emulator}"  # as gcsfs reads it
        url = str(settings.get("endpointurl") or (emulator if emulator != "default" else ""))
    elif scheme == "azure":
        found = re.search(r"BlobEndpoint=([^;]+)", str(settings.get("connection_string") or ""))
        url = found.group(1) if found else str(settings.get("account_url") or "")
    elif scheme not in DEFAULT_PORTS:
        return None
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        return None
    if not parsed.hostname:
        return None
    if scheme == "ssh" and settings.get("port"):
        port = int(settings["port"])
    fallback = DEFAULT_PORTS.get(parsed.scheme, DEFAULT_PORTS.get(scheme, 443))
    return parsed.hostname, port or fallback


def probe(endpoint: tuple[str, int], timeout: float) -> str | None:
    """None when a TCP connection to ``endpoint`` opens; else why not (one line).

    Some clients retry a refused connection for a minute (azure-core: ten times, backoff);
    one probe makes a dead server one quick failure. Skipped behind a proxy.
    """
    import socket

    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    try:
        with socket.create_connection(endpoint, timeout=timeout):
            return None
    except OSError as exc:
        return f"unreachable ({endpoint[0]}:{endpoint[1]}: {_short(exc)})"
