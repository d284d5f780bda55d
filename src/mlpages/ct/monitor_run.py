"""Run the monitor from files: the production model, the newest batch, the training reference.

The I/O edge of :mod:`mlpages.ct.monitor` (what ``mlpages monitor`` and the ``monitor`` DVC stage
call): read params, pick the batch and its reference, score, merge the entry into
``reports/monitoring.json`` and write the retraining decision to ``reports/trigger.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpages.ct.monitor import (
    DEFAULT_DRIFT,
    BatchEntry,
    MonitorSettings,
    file_hash,
    history_before,
    load_model,
    merge_entry,
    monitor_batch,
)
from mlpages.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

IO_KEYS = ("model", "production", "data_dir", "batch", "window", "reference", "batch_days")


@dataclass(frozen=True)
class MonitorResult:
    """What :func:`run_monitor` did: the entry, the whole record and the retraining decision."""

    entry: BatchEntry
    record: dict[str, Any]
    decision: Any = None  # TriggerDecision | None
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
    import io
    from dataclasses import replace

    import pandas as pd

    from mlpages.config import load_config
    from mlpages.ct.champion import champion_model_bytes, read_blob_at, resolve_champion
    from mlpages.ct.gate import load_model_bytes

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


def settings_from_params(section: dict[str, Any] | None) -> MonitorSettings:
    """Build :class:`MonitorSettings` from the ``monitor:`` mapping of params.yaml."""
    section = dict(section or {})
    defaults = MonitorSettings()
    values: dict[str, Any] = {}
    for name in MonitorSettings.__dataclass_fields__:
        if name not in section or section[name] is None:
            continue
        raw = section[name]
        default = getattr(defaults, name)
        if isinstance(default, str):
            values[name] = str(raw)
        elif isinstance(default, tuple):
            if isinstance(raw, str) or not isinstance(raw, list | tuple):
                raise ConfigError(f"params monitor.{name} must be a list, got {raw!r}")
            values[name] = tuple(str(v) for v in raw)
        elif isinstance(default, dict):
            if not isinstance(raw, dict):
                raise ConfigError(f"params monitor.{name} must be a mapping, got {raw!r}")
            from mlpages.ct.drift import drift_settings

            drift_settings({**DEFAULT_DRIFT, **raw}, "params monitor.drift")  # fail early
            values[name] = dict(raw)
        else:
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
                raise ConfigError(f"params monitor.{name} must be a number >= 0, got {raw!r}")
            values[name] = type(default)(raw)
    return MonitorSettings(**values)


def parse_time(value: str | float | int, what: str) -> float:
    """Epoch seconds from a number or an ISO date/time (UTC when no zone is given)."""
    from datetime import UTC, datetime

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
    import time

    from mlpages.ct.batches import expand_inputs, read_batches, select_batch
    from mlpages.ct.trigger import (
        TriggerSettings,
        batches_since_training,
        decide_retraining,
        trigger_settings_from_params,
        write_trigger,
    )
    from mlpages.ct.validate import load_params_section

    section = load_params_section(params_path, "monitor")
    known = {*MonitorSettings.__dataclass_fields__, *TriggerSettings.__dataclass_fields__, *IO_KEYS}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{params_path}: unknown monitor key(s) {', '.join(unknown)}")
    settings = settings_from_params({k: v for k, v in section.items() if k not in IO_KEYS})
    policy = trigger_settings_from_params(section)

    model_path = model_path or Path(section.get("model", "models/model.pkl"))
    batch_path = batch_path or Path(section.get("data_dir", "data/raw"))
    window = section.get("window", 4)
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError(f"params monitor.window must be an integer >= 1, got {window!r}")
    batch_days = section.get("batch_days", 7)
    if isinstance(batch_days, bool) or not isinstance(batch_days, int | float) or batch_days < 0:
        raise ConfigError(f"params monitor.batch_days must be a number >= 0, got {batch_days!r}")
    if batch_path.is_dir():
        selection = select_batch(batch_path, str(section.get("batch", "latest")), window)
        batch_file, default_reference = selection.batch[0], selection.reference
    else:
        batch_file, default_reference = batch_path, ()
    if not reference_paths and section.get("reference"):
        raw = section["reference"]
        reference_paths = tuple(Path(p) for p in ([raw] if isinstance(raw, str) else raw))
    reference_files = expand_inputs(reference_paths) if reference_paths else default_reference
    if not reference_files:
        raise DataError(f"{batch_file.name}: no reference data (pass --reference)")

    if production is None:
        production = section.get("production", False)
        if not isinstance(production, bool):
            raise ConfigError(
                f"params monitor.production must be true or false, got {production!r}"
            )
    served = production_model(root, model_path, reference_paths) if production else None
    if served is None:
        note = f"model {model_path}" + (" (no production model yet)" if production else "")
        served = ServedModel(
            load_model(model_path), model_version, file_hash(model_path), None, note
        )
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
        upto = (*history_before(record, entry.batch), entry.to_json())
        seen = batches_since_training({"batches": list(upto)})
        if trained_at is not None:
            current = parse_time(now, "--now") if now is not None else time.time()
            days = round((current - parse_time(trained_at, "--trained-at")) / 86400, 2)
        else:
            days = float(seen * batch_days)
        decision = decide_retraining(
            entry.to_json(), policy, batches_since_training=seen, days_since_training=days
        )
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
