"""The tiny continuous-training project the workflow tests run, and the documented IAM policies.

`tests/test_ci_local.py` replays `scripts/ct.sh` on it, `tests/workflows/` runs the real workflows
on it under act, and `tests/test_ci_credentials.py` proves the two keys docs/remote.md documents.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

TRAIN_PY = """\
import json
from pathlib import Path

import joblib
import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

params = yaml.safe_load(Path("params.yaml").read_text())["train"]
batches = sorted(Path("data/batches").glob("*.csv"))
frame = pd.concat([pd.read_csv(p) for p in [Path("data/raw.csv"), *batches]], ignore_index=True)
cut = int(len(frame) * 0.7)
train, test = frame.iloc[:cut], frame.iloc[cut:]
model = LogisticRegression(C=params["C"]).fit(train[params["features"]], train["default"])
Path("models").mkdir(exist_ok=True)
joblib.dump(model, "models/model.pkl")
test.to_csv("data/test.csv", index=False)
auc = roc_auc_score(test["default"], model.predict_proba(test[params["features"]])[:, 1])
Path("reports").mkdir(exist_ok=True)
Path("reports/metrics.json").write_text(json.dumps({"roc_auc": round(auc, 6), "rows": len(train)}))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, data/raw.csv, data/batches]
    params: [train]
    outs: [models/model.pkl, data/test.csv]
    metrics:
      - reports/metrics.json:
          cache: false
  gate:
    cmd: mlpages gate
    deps: [models/model.pkl, data/test.csv]
    params: [gate]
    outs:
      - reports/gate.json:
          cache: false
  monitor:
    cmd: mlpages monitor --trigger-out reports/trigger.json
    deps: [data/batches]
    params: [monitor]
    outs:
      - reports/monitoring.json:
          cache: false
          persist: true
      - reports/trigger.json:
          cache: false
artifacts:
  model:
    path: models/model.pkl
    type: model
"""

PARAMS = """\
train:
  features: {features}
  C: 1.0
gate:
  model: models/model.pkl
  test_data: data/test.csv
  label: default
  floors: {{roc_auc: 0.55}}
  margins: {{roc_auc: 0.02}}
  artifact: model
  canned_requests: 3
monitor:
  production: true
  model: models/model.pkl
  reference: data/raw.csv
  data_dir: data/batches
  label: default
  min_metric: 0.55
  max_drop: 0.5
  drift: {{share: 0.6}}
"""


def raw_data(rows: int = 500, seed: int = 7, shift: float = 0.0) -> str:
    rng = np.random.default_rng(seed)
    x1, x2, noise = rng.normal(size=(3, rows))
    x1, x2 = x1 + shift, x2 - shift
    default = (rng.random(rows) < 1 / (1 + np.exp(-(2.0 * x1 - 1.5 * x2)))).astype(int)
    lines = ["x1,x2,noise,default"]
    rows_ = zip(x1, x2, noise, default, strict=True)
    lines += [f"{a:.5f},{b:.5f},{c:.5f},{d}" for a, b, c, d in rows_]
    return "\n".join(lines) + "\n"


BUCKET, PREFIX = "mlpages-dvc", "store"  # the names the documented policies use


def documented_policies() -> dict[str, dict]:
    """The read-only and the write policy: the JSON blocks of docs/remote.md."""
    text = (ROOT / "docs" / "remote.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)]
    assert len(blocks) == 2, "docs/remote.md should show exactly two policies"

    def actions(policy: dict) -> set[str]:
        found = set()
        for statement in policy["Statement"]:
            listed = statement["Action"]
            found |= {listed} if isinstance(listed, str) else set(listed)
        return found

    read, write = sorted(blocks, key=lambda p: "s3:PutObject" in actions(p))
    assert "s3:PutObject" not in actions(read) and "s3:PutObject" in actions(write)
    assert not any("*" in a or "Delete" in a for p in blocks for a in actions(p))
    return {"read": read, "write": write}
