"""JSON-lines files, stage summaries and rejects: the file formats every stage shares."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from judgeflow.config import config_hash

log = logging.getLogger("judgeflow")


class RecordError(ValueError):
    """A malformed input row; the message names the file, the line and the field."""


def parse_json_object(line: str, where: str) -> dict:
    """One JSON-lines row; `where` ('file:line') prefixes the error."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{where}: not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise RecordError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [parse_json_object(line, f"{path}:{number}")
                for number, line in enumerate(handle, start=1) if line.strip()]


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows atomically (a killed job never leaves a half file behind); return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def write_json(path: str | Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass
class StageSummary:
    """Counts in / out / rejected (with reasons) and seconds, written as summary.json beside a stage's outputs.

    `config` is the slice of the config the stage read (see judgeflow.config.select); its hash says which
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
            "experiment": self.config["experiment"],
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
    from judgeflow.hardware import resolutions

    resolutions(clear=True)
    summary = StageSummary(stage=name, config=config)
    start = time.perf_counter()
    log.info("stage %s (experiment %s, settings %s)", name, config["experiment"], config_hash(config))
    yield summary
    summary.seconds = time.perf_counter() - start
    used = resolutions()
    if used and "precision" not in summary.extra:
        summary.extra["precision"] = used  # which dtype ran the stage's model, and why (judgeflow.hardware)
    write_json(summary_path, summary.as_dict())
    log.info("stage %s done in %.1fs: in=%d out=%d rejected=%s", name, summary.seconds, summary.items_in,
             summary.items_out, dict(summary.rejected))
