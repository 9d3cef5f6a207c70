from judgeflow.core.config import as_plain
from judgeflow.stages.train import train_dpo

sm = snakemake  # noqa: F821
train_dpo(as_plain(sm.params.cfg), sm.input.pairs, sm.input.init, sm.output.model, sm.output.summary, sm.log[0],
          sm.threads, gpus=sm.resources.gpu, accelerate_config=sm.params.accelerate_config,
          block="downstream.policy_dpo", stage_name="train_policy")
