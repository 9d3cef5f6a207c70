"""JSON-lines files, stage summaries and rejects: the file formats every stage shares."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from judgeflow.core.config import config_hash
from judgeflow.core.hardware import clear_work, keep_freed_memory, resolutions, work_summary

log = logging.getLogger("judgeflow")


class RecordError(ValueError):
    """A malformed input row; the message names the file, the line and the field.

    `code` is the short reject reason counted in stage summaries (malformed_row unless a more precise one
    applies: encoding, non_finite_number, nul_byte, empty_field, line_too_long, duplicate_id); `field` is the
    field at fault, when one is."""

    def __init__(self, message: str, code: str = "malformed_row", field: str | None = None):
        super().__init__(message)
        self.code = code
        self.field = field


def non_finite_field(value, path: str = "") -> tuple[str, float] | None:
    """(dotted path, value) of the first NaN or +-Infinity float in a JSON-like value, None when none."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for sub_path, item in items:
        found = non_finite_field(item, sub_path)
        if found:
            return found
    return None


def _constant(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def parse_json_object(line: str, where: str) -> dict:
    """One JSON-lines row; `where` ('file:line') prefixes the error. NaN and Infinity (which Python's json
    accepts but JSON does not), and numbers too large for a float, are rejected naming the field."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise RecordError(f"{where}: expected a JSON object, got {type(row).__name__}")
    found = non_finite_field(row)
    if found:
        raise RecordError(f"{where}: field '{found[0]}' is {_constant(found[1])}, not a finite number",
                          "non_finite_number", found[0])
    return row


def decode_line(line: bytes, where: str, first: bool = False) -> str:
    """A line of a UTF-8 file as text (a BOM on the first line dropped); a RecordError (code encoding) names
    the first byte that is not UTF-8."""
    try:
        return line.decode("utf-8-sig" if first else "utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"{where}: not valid UTF-8 (byte 0x{line[exc.start]:02x} at byte {exc.start + 1} of the "
                          "line)", "encoding") from None


def read_jsonl(path: str | Path) -> list[dict]:
    rows = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            text = decode_line(line, f"{path}:{number}", first=number == 1)
            if text.strip():
                rows.append(parse_json_object(text, f"{path}:{number}"))
    return rows


@contextmanager
def _atomic(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it on success and is removed on any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows atomically (a killed job never leaves a half file behind, a failed one no .tmp); return the
    count. A NaN or Infinity raises naming the row and field: JSON has no such numbers."""
    count = 0
    with _atomic(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            try:
                line = json.dumps(row, ensure_ascii=False, sort_keys=True, allow_nan=False)
            except ValueError:
                found = non_finite_field(row)
                if found is None:
                    raise
                ident = f" (id {row['id']})" if isinstance(row, dict) and "id" in row else ""
                raise ValueError(f"{path}: row {count + 1}{ident}: field '{found[0]}' is {found[1]}, a non-finite "
                                 "number JSON cannot hold") from None
            handle.write(line + "\n")
            count += 1
    return count


def write_json(path: str | Path, data: dict) -> None:
    with _atomic(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass
class StageSummary:
    """Counts in / out / rejected (with reasons) and seconds, written as summary.json beside a stage's outputs.

    `config` is the slice of the config the stage read (see judgeflow.core.config.select); its hash says which
    settings made the outputs. results/<experiment>/config.yaml holds the whole resolved config."""

    stage: str
    config: dict
    items_in: int = 0
    items_out: int = 0
    rejected: Counter = field(default_factory=Counter)
    extra: dict = field(default_factory=dict)
    seconds: float = 0.0

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "experiment": self.config.get("experiment"),  # None for shared outputs (resources/models)
            "settings_hash": config_hash(self.config),
            "items_in": self.items_in,
            "items_out": self.items_out,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": sum(self.rejected.values()),
            "seconds": round(self.seconds, 2),
            **self.extra,
        }


@contextmanager
def stage(name: str, config: dict, summary_path: str | Path, log_path: str | Path | None = None,
          threads: int | None = None) -> Iterator[StageSummary]:
    """Run one stage: log to file and console, set torch threads, time it, write summary.json on success."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)
    if threads:
        import torch

        torch.set_num_threads(threads)
    allocator = "glibc malloc keeps freed memory" if keep_freed_memory() else "the C library's defaults"
    resolutions(clear=True)
    clear_work()
    summary = StageSummary(stage=name, config=config)
    start = time.perf_counter()
    log.info("stage %s (experiment %s, settings %s; allocator: %s)", name, config.get("experiment", "shared"),
             config_hash(config), allocator)
    yield summary
    summary.seconds = time.perf_counter() - start
    used = resolutions()
    if used and "precision" not in summary.extra:
        summary.extra["precision"] = used  # which dtype ran the stage's model, and why (judgeflow.core.hardware)
    compute = work_summary(clear=True)
    if compute and "compute" not in summary.extra:
        summary.extra["compute"] = compute  # tokens, seconds, GFLOP/s and % of the matmul peak per kind of work
    write_json(summary_path, summary.as_dict())
    log.info("stage %s done in %.1fs: in=%d out=%d rejected=%s", name, summary.seconds, summary.items_in,
             summary.items_out, dict(summary.rejected))
