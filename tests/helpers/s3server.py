"""A real S3-compatible server (moto's server mode) on 127.0.0.1 for the remote-storage tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BOOTSTRAP = {
    "AWS_ACCESS_KEY_ID": "bootstrap",
    "AWS_SECRET_ACCESS_KEY": "bootstrap",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# The server checks signatures: only the key pair created at start-up through its IAM API works.
ALLOW_S3 = (
    '{"Version": "2012-10-17", '
    '"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
)


@dataclass
class S3Server:
    process: subprocess.Popen
    endpoint: str
    credentials: dict[str, str]  # the first user's
    users: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> credentials

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
        )


def start_s3_server(log_dir: Path, policies: Mapping[str, str] | None = None) -> S3Server:
    """Start moto_server on a free port of 127.0.0.1 with authentication on, with IAM users.

    ``policies`` maps user names to IAM policy documents (JSON); the server enforces them.
    By default one user, ``ci``, may do anything in S3.
    """
    policies = dict(policies or {"ci": ALLOW_S3})
    moto = Path(sys.executable).with_name("moto_server")
    log = log_dir / "moto.log"
    handle = log.open("w")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", "0"],
        stdout=handle,
        stderr=subprocess.STDOUT,
        # The IAM set-up below (three requests per user) is let through unauthenticated.
        env={**os.environ, **BOOTSTRAP, "INITIAL_NO_AUTH_ACTION_COUNT": str(3 * len(policies))},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"Running on http://127\.0\.0\.1:(\d+)", log.read_text())
        if match:
            endpoint = f"http://127.0.0.1:{match.group(1)}"
            users = {name: _create_user(endpoint, name, doc) for name, doc in policies.items()}
            return S3Server(process, endpoint, next(iter(users.values())), users)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"moto_server did not start: {log.read_text()}")


def _create_user(endpoint: str, name: str, policy: str) -> dict[str, str]:
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=BOOTSTRAP["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=BOOTSTRAP["AWS_SECRET_ACCESS_KEY"],
    )
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=policy)
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
