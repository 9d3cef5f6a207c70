# GRPO on the seed items with the verifiable verdict reward (plain or EIS grouping; judgeflow.training.rl).
from judgeflow.core.config import as_plain
from judgeflow.stages.rl import train_rl

sm = snakemake  # noqa: F821
train_rl(as_plain(sm.params.cfg), sm.input.judge_items, sm.input.init, sm.output.model, sm.output.summary, sm.log[0],
         sm.threads, gpus=sm.resources.gpu, accelerate_config=sm.params.accelerate_config)
