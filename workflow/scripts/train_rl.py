# GRPO on the seed items with the verifiable verdict reward (plain or EIS grouping; judgeflow.training.rl).
from judgeflow.core.config import as_plain
from judgeflow.stages.rl import train_rl

sm = snakemake  # noqa: F821
train_rl(config=as_plain(sm.params.cfg), judge_items=sm.input.judge_items, init=sm.input.init, model=sm.output.model,
         summary=sm.output.summary, log=sm.log[0], threads=sm.threads, gpus=sm.resources.gpu,
         accelerate_config=sm.params.accelerate_config)
