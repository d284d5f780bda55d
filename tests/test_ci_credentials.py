"""The two remote keys CI uses: docs/remote.md's IAM policies, enforced by a real S3 server.

The read-only policy is what pull-request jobs and the site build get; the write policy is what
only the push step of train.yml gets. Both documents are read from the docs (so the docs cannot
drift from what was tested) and given to IAM users of moto's S3 server, which checks signatures
and evaluates the policies; then real `dvc push` / `dvc pull` runs show what each key can do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.ci_project import BUCKET, PREFIX, documented_policies
from helpers.dvc import dvc
from helpers.git import git
from helpers.s3server import ALLOW_S3, start_s3_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def s3(tmp_path: Path):
    policies = {name: json.dumps(doc) for name, doc in documented_policies().items()}
    server = start_s3_server(tmp_path, {"admin": ALLOW_S3, **policies})
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.mark.slow  # runs the real dvc
def test_the_read_key_pulls_and_cannot_push_the_write_key_pushes(s3, make_repo, tmp_path):
    read, write = s3.users["read"], s3.users["write"]
    repo = make_repo(name="origin")
    dvc(repo.path, "init", "-q", env=write)
    dvc(repo.path, "remote", "add", "-d", "storage", f"s3://{BUCKET}/{PREFIX}", env=write)
    endpoint = ["remote", "modify", "--local", "storage", "endpointurl", s3.endpoint]
    dvc(repo.path, *endpoint, env=write)
    repo.write({"data.csv": "a,b\n1,2\n"})
    dvc(repo.path, "add", "-q", "data.csv", env=write)
    repo.commit("data")

    # A pull-request job's key cannot put anything into the store.
    refused = dvc(repo.path, "push", env=read, check=False)
    assert refused.returncode != 0
    assert "AccessDenied" in refused.stdout + refused.stderr or "403" in refused.stderr
    assert "Contents" not in s3.client().list_objects_v2(Bucket=BUCKET)

    # The push step's key can; then the read key fetches it into a fresh clone.
    dvc(repo.path, "push", env=write)
    stored = s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]
    assert stored and all(o["Key"].startswith(f"{PREFIX}/") for o in stored)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    dvc(clone, *endpoint, env=read)
    dvc(clone, "pull", env=read)
    assert (clone / "data.csv").read_text() == "a,b\n1,2\n"

    # Neither key reaches outside the store's prefix.
    for user in ("read", "write"):
        import boto3
        from botocore.exceptions import ClientError

        client = boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            region_name="us-east-1",
            aws_access_key_id=s3.users[user]["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=s3.users[user]["AWS_SECRET_ACCESS_KEY"],
        )
        with pytest.raises(ClientError, match="AccessDenied"):
            client.put_object(Bucket=BUCKET, Key="elsewhere/x", Body=b"x")
        with pytest.raises(ClientError, match="AccessDenied"):
            client.delete_object(Bucket=BUCKET, Key=stored[0]["Key"])
