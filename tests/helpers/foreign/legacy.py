"""A legacy history: DVC 1.x lock, DVC 2 locks, then DVC 3; metrics renamed and reshaped."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.foreign.files import md5_of
from helpers.git import RepoBuilder


def _put_legacy_cache(path: Path, data: bytes) -> str:
    md5 = md5_of(data)
    target = path / ".dvc/cache" / md5[:2] / md5[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return md5


def build_legacy(path: Path) -> dict[str, str]:
    """Five commits spanning DVC 1.x → 2 → 3 lock files; returns shas by role."""
    repo = RepoBuilder(path)
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n/tmp\n"})
    train = "import json\n"
    dvc_yaml_v1 = (
        "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"
        "    params:\n    - lr\n    metrics:\n    - metrics.json:\n        cache: false\n"
    )
    lock_v1 = (
        "train:\n  cmd: python train.py\n  deps:\n  - path: train.py\n"
        f"    md5: {md5_of(train.encode())}\n  params:\n    params.yaml:\n      lr: 0.1\n"
        "  outs:\n  - path: metrics.json\n    md5: 0123456789abcdef0123456789abcdef\n"
    )
    shas = {
        "dvc1": repo.commit(
            "DVC 1.x era",
            {
                "train.py": train,
                "params.yaml": "lr: 0.1\n",
                "dvc.yaml": dvc_yaml_v1,
                "dvc.lock": lock_v1,
                "metrics.json": json.dumps({"acc": 0.7}),
            },
        )
    }
    # DVC 2: renamed metrics (scores.json, cached, legacy cache layout), params key renamed.
    scores = json.dumps({"acc": 0.8, "loss": 0.3}).encode()
    scores_md5 = _put_legacy_cache(path, scores)
    dvc_yaml_v2 = (
        "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"
        "    params:\n    - train.learning_rate\n    metrics:\n    - scores.json\n"
    )
    lock_v2 = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        f"    - path: train.py\n      md5: {md5_of(train.encode())}\n      size: {len(train)}\n"
        "    params:\n      params.yaml:\n        train.learning_rate: 0.05\n    outs:\n"
        f"    - path: scores.json\n      md5: {scores_md5}\n      size: {len(scores)}\n"
    )
    shas["dvc2"] = repo.commit(
        "DVC 2: scores.json in the cache, learning_rate",
        {
            "params.yaml": "train:\n  learning_rate: 0.05\n",
            "dvc.yaml": dvc_yaml_v2,
            "dvc.lock": lock_v2,
            "metrics.json": None,
            ".gitignore": "/scores.json\n",
        },
    )
    # DVC 2 again, with a stale lock (params changed, lock not rerun) and no cache object.
    shas["dvc2_stale"] = repo.commit(
        "DVC 2: params edited, not reproduced",
        {
            "params.yaml": "train:\n  learning_rate: 0.01\n",
            "dvc.lock": lock_v2.replace(scores_md5, "fedcba9876543210fedcba9876543210"),
        },
    )
    # DVC 3: nested train/test metrics under eval/, in git.
    nested = json.dumps({"train": {"acc": 0.93}, "test": {"acc": 0.88, "loss": 0.21}})
    dvc_yaml_v3 = (
        "stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n"
        "    params:\n    - train.learning_rate\n    metrics:\n    - eval/metrics.json:\n"
        "        cache: false\n"
    )
    lock_v3 = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n"
        f"    - path: train.py\n      hash: md5\n      md5: {md5_of(train.encode())}\n"
        f"      size: {len(train)}\n    params:\n      params.yaml:\n"
        "        train.learning_rate: 0.01\n    outs:\n    - path: eval/metrics.json\n"
        f"      hash: md5\n      md5: {md5_of(nested.encode())}\n      size: {len(nested)}\n"
    )
    shas["dvc3"] = repo.commit(
        "DVC 3: nested eval/metrics.json",
        {
            "dvc.yaml": dvc_yaml_v3,
            "dvc.lock": lock_v3,
            "eval/metrics.json": nested,
            ".gitignore": "",
        },
    )
    return shas
