"""A git smart-HTTP server on 127.0.0.1 that wants a token, like github.com does.

Requests without ``Authorization: basic base64(x-access-token:<token>)`` get 401; the others
are served by the real ``git http-backend`` over the bare repositories under ``root`` (pushes
included). A ``read_only`` token may fetch but gets 403 on a push, as a fork pull request's
``GITHUB_TOKEN`` does. Every Authorization header received is recorded, so a test can see which
requests carried the token.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def basic_auth(token: str) -> str:
    """The header value actions/checkout (and scripts/ct.sh push) send for ``token``."""
    return "basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    expected: str
    read_only: frozenset[str]
    seen: list[str]


class _GitHandler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet test output

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _refuse(self, status: int) -> None:
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.server.seen.append(auth)
        body = self._body()
        path, _, query = self.path.partition("?")
        if auth.lower() in self.server.read_only and "git-receive-pack" in self.path:
            self._refuse(403)
            return
        if (
            auth.lower() != self.server.expected.lower()
            and auth.lower() not in self.server.read_only
        ):
            self._refuse(401)
            return
        env = {
            "PATH": os.environ["PATH"],
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "x-access-token",  # authenticated: http-backend allows receive-pack
            "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        for header in ("Content-Encoding", "Git-Protocol"):
            if header in self.headers:
                env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = out.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def git_http_server(root: Path, token: str, read_only: Iterable[str] = ()) -> Iterator[_Server]:
    """Serve the bare repositories under ``root`` at ``http://127.0.0.1:<port>/<name>``."""
    server = _Server(("127.0.0.1", 0), _GitHandler)
    server.root, server.expected, server.seen = root, basic_auth(token), []
    server.read_only = frozenset(basic_auth(t).lower() for t in read_only)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def server_url(server: _Server) -> str:
    """The server's base URL (what GITHUB_SERVER_URL is for github.com)."""
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"
