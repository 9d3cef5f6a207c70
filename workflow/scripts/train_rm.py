# The scalar Bradley-Terry reward model (TRL RewardTrainer) on the pairwise and verification seed items, and its
# verification thresholds (in the summary).
from judgeflow.core.config import as_plain
from judgeflow.stages.rl import train_rm

sm = snakemake  # noqa: F821
train_rm(config=as_plain(sm.params.cfg), judge_items=sm.input.judge_items, init=sm.input.init, model=sm.output.model,
         summary=sm.output.summary, log=sm.log[0], threads=sm.threads, gpus=sm.resources.gpu,
         accelerate_config=sm.params.accelerate_config)
