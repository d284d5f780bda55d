"""Real DVC remote servers on 127.0.0.1 for the remote tests: HTTP, WebDAV, SFTP and Azure Blob.

Each serves a folder in DVC's remote layout, counts the objects it hands out (``gets``: the
paths of successful downloads) and can be stopped before or during a build. S3 is moto's server
(:mod:`helpers.s3server`), GCS fake-gcs-server (:mod:`helpers.gcsserver`).
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Counters:
    """What a server handed out; ``die_after``: stop answering after that many downloads."""

    gets: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    requests: int = 0
    die_after: int | None = None
    dead: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.gets.clear()
            self.bytes_sent = 0
            self.requests = 0

    def admit(self) -> bool:
        """Count a request; False once the server is to behave as stopped."""
        with self.lock:
            self.requests += 1
            if self.die_after is not None and len(self.gets) >= self.die_after:
                self.dead = True
            return not self.dead

    def served(self, path: str, size: int) -> None:
        with self.lock:
            self.gets.append(path)
            self.bytes_sent += size

    def serve(self, path: str, size: int) -> bool:
        """Count a download and say whether to send it: the check and the count are one step,
        so parallel requests cannot all pass ``admit`` before the first one is counted."""
        with self.lock:
            if self.die_after is not None and len(self.gets) >= self.die_after:
                self.dead = True
            if self.dead:
                return False
            self.gets.append(path)
            self.bytes_sent += size
            return True


@dataclass
class Server:
    """A running server: its URL, counters and how to stop it."""

    url: str
    counters: Counters
    stop: Callable[[], None]
    folder: Path
    extra: dict[str, Any] = field(default_factory=dict)


def _thread_server(httpd: Any, url: str, counters: Counters, folder: Path) -> Server:
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if not stopped.is_set():
            stopped.set()
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=10)

    return Server(url, counters, stop, folder)


def start_http_server(
    folder: Path, latency: float = 0.0, auth: tuple[str, str] | None = None
) -> Server:
    """A static file server of ``folder`` (the kind of https://remote.dvc.org), GET/HEAD only."""
    counters = Counters()
    expected = "Basic " + base64.b64encode(":".join(auth).encode()).decode() if auth else None

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as any production server

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _gate(self) -> bool:
            if not counters.admit():
                self.close_connection = True  # a server gone mid-build: no answer
                return False
            if latency:
                time.sleep(latency)
            if expected and self.headers.get("Authorization") != expected:
                self.send_error(401)
                return False
            return True

        def do_HEAD(self) -> None:
            if self._gate():
                super().do_HEAD()

        def do_GET(self) -> None:
            if not self._gate():
                return
            target = Path(self.translate_path(self.path))
            if target.is_file() and not counters.serve(self.path, target.stat().st_size):
                self.close_connection = True  # died between admitting and sending
                return
            super().do_GET()

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # a client that hangs up early (DVC does) is not the server's problem

    httpd = Quiet(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    return _thread_server(httpd, f"http://127.0.0.1:{httpd.server_port}", counters, folder)


def start_webdav_server(folder: Path, user: str, password: str) -> Server:
    """wsgidav serving ``folder`` with basic authentication, counting downloads."""
    from cheroot import wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp

    counters = Counters()
    app = WsgiDAVApp(
        {
            "provider_mapping": {"/": str(folder)},
            "simple_dc": {"user_mapping": {"*": {user: {"password": password}}}},
            "http_authenticator": {"accept_basic": True, "accept_digest": False},
            "verbose": 0,
            "logging": {"enable": False, "enable_loggers": []},
            "dir_browser": {"enable": False},
            "lock_storage": True,
        }
    )

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        if not counters.admit():
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        if environ["REQUEST_METHOD"] != "GET":
            return app(environ, start_response)
        status: list[str] = []

        def recording(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        body = b"".join(app(environ, recording))
        if status and status[0].startswith("200"):
            counters.served(environ["PATH_INFO"], len(body))
        return [body]

    httpd = wsgi.Server(("127.0.0.1", 0), counting, numthreads=8)
    httpd.prepare()
    port = httpd.bind_addr[1]

    class Runner:
        def serve_forever(self) -> None:
            httpd.serve()

        def shutdown(self) -> None:
            httpd.stop()

        def server_close(self) -> None:
            return

    return _thread_server(Runner(), f"webdav://127.0.0.1:{port}", counters, folder)


def start_sftp_server(folder: Path, key_dir: Path, user: str = "dvc") -> Server:
    """An asyncssh SFTP server rooted at ``folder``, public-key authentication only."""
    import asyncssh

    counters = Counters()
    key_dir.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key.write_private_key(str(key_dir / "id_ed25519"))
    (key_dir / "id_ed25519").chmod(0o600)
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    class Counting(asyncssh.SFTPServer):
        def __init__(self, chan: Any) -> None:
            super().__init__(chan, chroot=str(folder).encode())

        def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
            if not counters.admit():
                raise asyncssh.SFTPFailure("server stopping")
            handle = super().open(path, pflags, attrs)
            if pflags & asyncssh.FXF_READ and not pflags & asyncssh.FXF_WRITE:
                local = Path(self.map_path(path).decode())
                counters.served(path.decode(), local.stat().st_size)
            return handle

    class Auth(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: Any) -> bool:
            return (
                username == user and authorized.validate(key, "127.0.0.1", "127.0.0.1") is not None
            )

        def password_auth_supported(self) -> bool:
            return False

    async def serve() -> None:
        holder["server"] = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            server_factory=Auth,
            sftp_factory=Counting,
            allow_scp=False,
        )
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop)
    if not ready.wait(15):
        raise RuntimeError("the SFTP server did not start")
    port = holder["server"].sockets[0].getsockname()[1]
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()

        async def close() -> None:
            holder["server"].close()
            await holder["server"].wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    server = Server(f"ssh://{user}@127.0.0.1:{port}/", counters, stop, folder)
    server.extra["keyfile"] = str(key_dir / "id_ed25519")
    return server


AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (public, the same in every installation).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_HOME = Path.home() / ".cache" / "mlpages-azurite"  # where .ci/run installs it (npm)


def azurite_binary() -> Path | None:
    """The azurite-blob launcher installed by .ci/run (``MLPAGES_AZURITE`` overrides)."""
    override = os.environ.get("MLPAGES_AZURITE")
    path = Path(override) if override else AZURITE_HOME / "node_modules" / ".bin" / "azurite-blob"
    return path if path.is_file() and shutil.which("node") else None


def azure_connection_string(endpoint: str, key: str = AZURITE_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_azurite_server(log_dir: Path) -> Server:
    """Azurite's Blob service (from npm) in memory on 127.0.0.1; shared-key checking on.

    Its debug log is parsed for the downloads: ``counters.gets`` lists the blob paths it sent.
    """
    binary = azurite_binary()
    if binary is None:
        raise FileNotFoundError("azurite-blob is not installed (.ci/run installs it with npm)")
    port = free_port()
    debug = log_dir / "azurite-debug.log"
    out = (log_dir / "azurite.log").open("w")
    process = subprocess.Popen(
        [
            "node",
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--debug",
            str(debug),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while "successfully listens" not in (log_dir / "azurite.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((log_dir / "azurite.log").read_text()[-2000:])
        time.sleep(0.1)
    counters = AzuriteCounters(debug)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        out.close()

    server = Server(f"http://127.0.0.1:{port}", counters, stop, log_dir)
    server.extra["connection_string"] = azure_connection_string(server.url)
    return server


class LogCounters(Counters):
    """Downloads read from a server's own log, from where it ended at the last reset."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = log
        self.offset = 0

    def reset(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0

    def new_log_text(self) -> str:
        """What the server logged since the last reset."""
        if not self.log.exists():
            return ""
        with self.log.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode("utf-8", "replace")

    @property  # type: ignore[override]
    def gets(self) -> list[str]:
        return self.downloads(self.new_log_text())

    @gets.setter
    def gets(self, value: list[str]) -> None:
        return  # read from the log, never set

    def downloads(self, text: str) -> list[str]:
        """The paths the log ``text`` shows handed out."""
        raise NotImplementedError


class AzuriteCounters(LogCounters):
    """Downloads read from azurite's debug log (request id → URL, then a download line)."""

    def downloads(self, text: str) -> list[str]:
        urls: dict[str, str] = {}
        sent = []
        for line in text.splitlines():
            parts = line.split(" ", 2)
            if len(parts) < 3:
                continue
            request = parts[1]
            match = re.search(
                r"RequestMethod=GET RequestURL=\S*?/" + AZURITE_ACCOUNT + r"(/\S+)", line
            )
            if match:
                urls[request] = match.group(1).split("?")[0]
            elif "downloadBlockBlobOrAppendBlob()" in line and request in urls:
                sent.append(urls[request])
        return sent
