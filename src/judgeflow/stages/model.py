"""Rules of workflow/rules/model.smk: a base model prepared as a plain folder."""

from __future__ import annotations

from judgeflow.core.records import stage
from judgeflow.models import sources as model_sources


def prepare_model(config: dict, name: str, model: str, summary: str, log: str, threads: int) -> None:
    with stage("prepare_model", config, summary, log, threads) as s:
        s.extra.update(model=name, **model_sources.prepare_model(config["models"][name], model, config))
        s.items_out = 1
