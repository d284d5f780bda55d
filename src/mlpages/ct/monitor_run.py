"""Run the monitor from files: the production model, the newest batch, the training reference.

The I/O edge of :mod:`mlpages.ct.monitor` (what ``mlpages monitor`` and the ``monitor`` DVC stage
call): read params, pick the batch and its reference, score, merge the entry into
``reports/monitoring.json`` and write the retraining decision to ``reports/trigger.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.config import load_config
from mlpages.ct.batches import expand_inputs, read_batches, select_batch
from mlpages.ct.champion import champion_model_bytes, read_blob_at, resolve_champion
from mlpages.ct.gate import load_model_bytes
from mlpages.ct.monitor import (
    BatchEntry,
    MonitorSettings,
    file_hash,
    history_before,
    load_model,
    merge_entry,
    monitor_batch,
)
from mlpages.ct.trigger import (
    TriggerDecision,
    TriggerSettings,
    batches_since_training,
    decide_retraining,
    write_trigger,
)
from mlpages.errors import ConfigError, DataError
from mlpages.settings import load_section, load_sections, read_yaml_section, setting

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MonitorIO:
    """What the monitor reads (``params.yaml`` ``monitor:``, beside thresholds and triggers)."""

    model: str = setting("models/model.pkl", help="The model file (--model).")
    production: bool = setting(
        False,
        help="Score with the registry's production model, loaded from the DVC cache at its "
        "commit (--production).",
    )
    data_dir: str = setting(
        "data/raw", help="Folder of the batches; the newest by name is monitored (--batch)."
    )
    batch: str = setting("latest", help="The batch to monitor in data_dir: latest or a file name.")
    window: int = setting(
        4, minimum=1, help="Without a reference: this many batches before the monitored one."
    )
    reference: str | tuple[str, ...] = setting(
        (),
        help="Training reference: CSV files or folders (--reference); one file is read at the "
        "production model's commit.",
    )
    batch_days: float = setting(
        7.0, minimum=0, help="Days one batch stands for: the model's age without --trained-at."
    )


@dataclass(frozen=True)
class MonitorResult:
    """What :func:`run_monitor` did: the entry, the whole record and the retraining decision."""

    entry: BatchEntry
    record: dict[str, Any]
    decision: TriggerDecision | None = None
    notes: tuple[str, ...] = ()  # how the model and reference were found


@dataclass(frozen=True)
class ServedModel:
    """The model that scores the batch and the training reference that goes with it."""

    model: Any
    version: str | None
    model_hash: str
    reference: pd.DataFrame | None  # None: use the reference files of the workspace
    note: str


def production_model(
    root: Path, model_path: Path, reference: tuple[Path, ...]
) -> ServedModel | None:
    """The registry's production model, from the DVC cache at its commit (None if there is none).

    When ``reference`` is one file, it is read at the same commit (git, else the DVC cache), so
    drift is measured against the data that model was trained on.
    """
    import pandas as pd

    config = load_config(root)
    champion = resolve_champion(
        root,
        artifact=config.model_artifact,
        stage=config.production_stage,
        model_path=model_path.as_posix(),
    )
    if champion is None:
        return None
    data = champion_model_bytes(root, champion)
    model = load_model_bytes(data, f"production model {champion.label}")
    note = f"production model {champion.label} (commit {champion.sha[:12]})"
    frame = None
    if len(reference) == 1 and not reference[0].is_dir():
        rel = reference[0].as_posix()
        try:
            raw = read_blob_at(root, champion.sha, rel)
            if raw is None:
                raw = champion_model_bytes(root, replace(champion, path=rel))
            frame = pd.read_csv(io.BytesIO(raw))
            note += f", reference {rel} at that commit"
        except (DataError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            note += f", reference {rel} from the work tree ({exc})"
    return ServedModel(model, champion.version, hashlib.md5(data).hexdigest(), frame, note)


def settings_from_params(section: Any, source: str = "params.yaml") -> MonitorSettings:
    """Build :class:`MonitorSettings` from the ``monitor:`` mapping (other keys are not its own)."""
    return load_section(MonitorSettings, section, source, "monitor", ignore_unknown=True)


def parse_time(value: str | float | int, what: str) -> float:
    """Epoch seconds from a number or an ISO date/time (UTC when no zone is given)."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what}: expected an ISO date or epoch seconds, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _reference_paths(inputs: MonitorIO, given: tuple[Path, ...]) -> tuple[Path, ...]:
    """The reference named on the command line, else in params (one path or a list)."""
    if given:
        return given
    named = inputs.reference if isinstance(inputs.reference, tuple) else (inputs.reference,)
    return tuple(Path(p) for p in named if p)


def _batch_and_reference(
    inputs: MonitorIO, batch_path: Path, reference_paths: tuple[Path, ...]
) -> tuple[Path, tuple[Path, ...]]:
    """The batch file to monitor and the reference files (default: the window before it)."""
    if batch_path.is_dir():
        selection = select_batch(batch_path, inputs.batch, inputs.window)
        batch_file, default_reference = selection.batch[0], selection.reference
    else:
        batch_file, default_reference = batch_path, ()
    reference_files = expand_inputs(reference_paths) if reference_paths else default_reference
    if not reference_files:
        raise DataError(f"{batch_file.name}: no reference data (pass --reference)")
    return batch_file, tuple(reference_files)


def _served_model(
    root: Path,
    model_path: Path,
    reference_paths: tuple[Path, ...],
    production: bool,
    model_version: str | None,
) -> ServedModel:
    """The production model when asked for and present, else the model file."""
    served = production_model(root, model_path, reference_paths) if production else None
    if served is not None:
        return served
    note = f"model {model_path}" + (" (no production model yet)" if production else "")
    return ServedModel(load_model(model_path), model_version, file_hash(model_path), None, note)


def _retraining_decision(
    record: dict[str, Any],
    entry: BatchEntry,
    policy: TriggerSettings,
    batch_days: float,
    trained_at: str | None,
    now: str | None,
) -> TriggerDecision:
    """Decide on retraining after ``entry``: the model's age from --trained-at or its batches."""
    upto = (*history_before(record, entry.batch), entry.to_json())
    seen = batches_since_training({"batches": list(upto)})
    if trained_at is not None:
        current = parse_time(now, "--now") if now is not None else time.time()
        days = round((current - parse_time(trained_at, "--trained-at")) / 86400, 2)
    else:
        days = float(seen * batch_days)
    return decide_retraining(
        entry.to_json(), policy, batches_since_training=seen, days_since_training=days
    )


def run_monitor(
    *,
    model_path: Path | None = None,
    batch_path: Path | None = None,
    reference_paths: tuple[Path, ...] = (),
    params_path: Path | None = Path("params.yaml"),
    out_path: Path = Path("reports/monitoring.json"),
    trigger_path: Path | None = None,
    model_version: str | None = None,
    trained_at: str | None = None,
    now: str | None = None,
    production: bool | None = None,
    root: Path = Path("."),
) -> MonitorResult:
    """Monitor one batch from files, update the record and (optionally) write the trigger."""
    section = read_yaml_section(params_path, "monitor")
    inputs, settings, policy = load_sections(
        section, str(params_path), "monitor", MonitorIO, MonitorSettings, TriggerSettings
    )
    model_path = model_path or Path(inputs.model)
    reference_paths = _reference_paths(inputs, reference_paths)
    batch_file, reference_files = _batch_and_reference(
        inputs, batch_path or Path(inputs.data_dir), reference_paths
    )
    production = inputs.production if production is None else production
    served = _served_model(root, model_path, reference_paths, production, model_version)
    reference = served.reference
    if reference is None:
        reference = read_batches(reference_files)
    record = read_record(out_path)
    entry = monitor_batch(
        served.model,
        read_batches([batch_file]),
        reference,
        batch_name=batch_file.name,
        settings=settings,
        model_version=model_version or served.version,
        model_hash=served.model_hash,
        history=history_before(record, batch_file.name),
    )
    record = merge_entry(record, entry, settings)
    write_record(out_path, record)
    decision = None
    if trigger_path is not None:
        decision = _retraining_decision(record, entry, policy, inputs.batch_days, trained_at, now)
        write_trigger(trigger_path, decision)
    return MonitorResult(entry=entry, record=record, decision=decision, notes=(served.note,))


def read_record(path: Path) -> dict[str, Any] | None:
    """The monitoring record at ``path`` (None when absent); a corrupt file raises DataError."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a monitoring record (invalid JSON: {exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("batches", []), list):
        raise DataError(f"{path}: not a monitoring record (expected {{'batches': [...]}})")
    return record


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write the record as indented JSON (strict: no NaN) with a trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
