# SFT from prompt/completion examples: the SFT warm-up and every rollout round (params.training names
# the config block with the hyperparameters).
from judgeflow.core.config import as_plain
from judgeflow.stages.train import train_sft

sm = snakemake  # noqa: F821
cfg = as_plain(sm.params.cfg)
block = cfg
for part in sm.params.training.split("."):
    block = block[part]
train_sft(cfg, [sm.input.examples], sm.input.init, sm.output.model, block, sm.output.summary, sm.log[0],
          sm.threads, stage_name=sm.rule, shuffle=sm.params.shuffle, gpus=sm.resources.gpu,
          accelerate_config=sm.params.accelerate_config,
          max_examples=cfg["teacher"]["max_sft_examples"] if sm.params.training == "sft" else None)
