# DPO of the downstream policy on the pairs its judge picked by tournament (config block downstream.policy_dpo).
from judgeflow.core.config import as_plain
from judgeflow.stages.train import train_dpo

sm = snakemake  # noqa: F821
train_dpo(config=as_plain(sm.params.cfg), pairs=sm.input.pairs, init=sm.input.init, model=sm.output.model,
          summary=sm.output.summary, log=sm.log[0], threads=sm.threads, gpus=sm.resources.gpu,
          accelerate_config=sm.params.accelerate_config, block="downstream.policy_dpo", stage_name="train_policy")
