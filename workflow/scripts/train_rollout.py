# SFT of rollout round r on the samples it kept (stages.train.train_sft with the rollout.training block; the
# curriculum keeps the file's order: params.shuffle).
from judgeflow.core.config import as_plain
from judgeflow.stages.train import train_sft

sm = snakemake  # noqa: F821
train_sft(config=as_plain(sm.params.cfg), examples=sm.input.examples, init=sm.input.init, model=sm.output.model,
          summary=sm.output.summary, log=sm.log[0], threads=sm.threads, training=sm.params.training,
          shuffle=sm.params.shuffle, gpus=sm.resources.gpu, accelerate_config=sm.params.accelerate_config,
          stage_name="train_rollout")
