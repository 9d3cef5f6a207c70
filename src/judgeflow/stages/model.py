"""Rules of workflow/rules/model.smk: a base model prepared as a plain folder."""

from __future__ import annotations

from judgeflow.core.records import stage
from judgeflow.models import sources as model_sources


def prepare_model(config: dict, name: str, out_dir: str, summary: str, log_path: str, threads: int) -> None:
    with stage("prepare_model", config, summary, log_path, threads) as s:
        s.extra.update(model=name, **model_sources.prepare_model(config["models"][name], out_dir, config))
        s.items_out = 1
