import math

from mlpages.history.codec import snapshot_from_json, snapshot_to_json
from mlpages.models import (
    Artifact,
    HashInfo,
    OutDecl,
    PlotData,
    PlotDef,
    Problem,
    Snapshot,
    Stage,
)


def test_snapshot_round_trips_through_json_with_nan_and_stage_params():
    stage = Stage(
        name="train@cnn",
        dvcfile="dvc.yaml",
        wdir=".",
        cmd="python train.py",
        deps=("data",),
        outs=(OutDecl("model.pkl", "outs"),),
        params=("params.yaml:train.lr",),
        locked=True,
        lock_deps=(HashInfo("data", "ab" * 16 + ".dir", "md5", 10, 2),),
        lock_params=(("params.yaml:train.lr", 0.1),),
    )
    snapshot = Snapshot(
        sha="f" * 40,
        has_dvc=True,
        stages=(stage,),
        params={"params.yaml": {"train.lr": 0.1}},
        metrics={"m.json": {"loss": math.inf, "acc": math.nan, "ok": True}},
        plots=(PlotDef("roc", ("roc.csv",), "simple", "fpr", (("roc.csv", "tpr"),)),),
        plot_data={"roc.csv": PlotData("roc.csv", "table", ("fpr", "tpr"), ((0.0, math.nan),))},
        artifacts=(Artifact("model", "model.pkl", "model"),),
        reports={"gate": {"verdict": "blessed"}},
        problems=(Problem("yaml-error", "dvc.yaml", "bad"),),
    )
    back = snapshot_from_json(snapshot_to_json(snapshot))
    assert back.stages == snapshot.stages
    assert back.params == snapshot.params
    assert back.metrics["m.json"]["loss"] == math.inf
    assert math.isnan(back.metrics["m.json"]["acc"])
    assert math.isnan(back.plot_data["roc.csv"].rows[0][1])
    assert back.plots == snapshot.plots
    assert back.reports == snapshot.reports
    assert back.problems == snapshot.problems
    assert back.stage("train@cnn").lock_deps[0].is_dir
