"""GitHub's issue-comments REST API on 127.0.0.1, for the workflows that act runs in the tests.

The endpoints the sticky-comment script uses, with GitHub's semantics: list (pages of
``per_page`` with a ``Link: rel="next"`` header), create, get, edit (only the author's own
comment), delete. A request's token decides its login (``Authorization: token <token>``);
unknown tokens get 401 and ``read_only`` ones (a fork pull request's ``GITHUB_TOKEN``) 403 on any
write. Every request is recorded, so a test can assert what a workflow run did.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ISSUE_COMMENTS = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")
ONE_COMMENT = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$")


@dataclass
class Comment:
    id: int
    repository: str  # owner/repo
    issue: int
    login: str
    body: str
    edits: int = 0

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "body": self.body, "user": {"login": self.login}}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    login: str  # "" for an unknown token


@dataclass
class FakeGitHub:
    """The API's state: who each token is, the comments, the requests received."""

    logins: Mapping[str, str]  # token -> login
    read_only: frozenset[str] = frozenset()
    url: str = ""
    comments: dict[int, Comment] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    next_id: int = 1001
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_comment(self, repository: str, issue: int, login: str, body: str) -> Comment:
        with self.lock:
            comment = Comment(self.next_id, repository, issue, login, body)
            self.comments[comment.id] = comment
            self.next_id += 1
        return comment

    def comments_on(self, repository: str, issue: int) -> list[Comment]:
        with self.lock:
            return [
                c for c in self.comments.values() if (c.repository, c.issue) == (repository, issue)
            ]


class _Handler(BaseHTTPRequestHandler):
    api: FakeGitHub  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads api.requests

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _send(self, status: int, payload: object = None, link: str = "") -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if link:
            self.send_header("Link", f'<{link}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        return str(data.get("body", ""))

    def _handle(self, method: str) -> None:
        api = self.api
        url = urlsplit(self.path)
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        login = api.logins.get(token, "") if scheme.lower() in ("token", "bearer") else ""
        with api.lock:
            api.requests.append(Request(method, url.path, login))
        if not login:
            return self._send(401, {"message": "Bad credentials"})
        if method != "GET" and token in api.read_only:
            return self._send(403, {"message": "Resource not accessible by integration"})
        if match := ISSUE_COMMENTS.match(url.path):
            repository, issue = f"{match[1]}/{match[2]}", int(match[3])
            if method == "GET":
                return self._list(repository, issue, url.path, parse_qs(url.query))
            if method == "POST":
                comment = api.add_comment(repository, issue, login, self._body())
                return self._send(201, comment.as_json())
        elif match := ONE_COMMENT.match(url.path):
            comment = api.comments.get(int(match[3]))
            if comment is None or comment.repository != f"{match[1]}/{match[2]}":
                return self._send(404, {"message": "Not Found"})
            if method == "GET":
                return self._send(200, comment.as_json())
            if method == "PATCH":
                if comment.login != login:
                    return self._send(403, {"message": "Must be the comment's author"})
                with api.lock:
                    comment.body, comment.edits = self._body(), comment.edits + 1
                return self._send(200, comment.as_json())
            if method == "DELETE":
                with api.lock:
                    del api.comments[comment.id]
                return self._send(204)
        return self._send(404, {"message": "Not Found"})

    def _list(self, repository: str, issue: int, path: str, query: dict[str, list[str]]) -> None:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        found = self.api.comments_on(repository, issue)
        chunk = found[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(found)
        link = f"{self.api.url}{path}?per_page={per_page}&page={page + 1}" if more else ""
        self._send(200, [c.as_json() for c in chunk], link)


@contextmanager
def fake_github(
    logins: Mapping[str, str], read_only: frozenset[str] = frozenset()
) -> Iterator[FakeGitHub]:
    """Serve the API at ``api.url`` (``http://127.0.0.1:<port>``) while the block runs."""
    api = FakeGitHub(dict(logins), read_only)
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
