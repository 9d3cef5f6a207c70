# The scalar Bradley-Terry reward model (TRL RewardTrainer) on the pairwise and verification seed items, and its
# verification thresholds (in the summary).
from judgeflow.core.config import as_plain
from judgeflow.stages.rl import train_rm

sm = snakemake  # noqa: F821
train_rm(as_plain(sm.params.cfg), sm.input.judge_items, sm.input.init, sm.output.model, sm.output.summary, sm.log[0],
         sm.threads, gpus=sm.resources.gpu, accelerate_config=sm.params.accelerate_config)
