# The SFT warm-up on the teacher's examples (params.training names the config block with the hyperparameters;
# teacher.max_sft_examples caps the examples).
from judgeflow.core.config import as_plain
from judgeflow.stages.train import train_sft

sm = snakemake  # noqa: F821
cfg = as_plain(sm.params.cfg)
train_sft(config=cfg, examples=sm.input.examples, init=sm.input.init, model=sm.output.model, summary=sm.output.summary,
          log=sm.log[0], threads=sm.threads, training=sm.params.training, shuffle=sm.params.shuffle,
          gpus=sm.resources.gpu, accelerate_config=sm.params.accelerate_config,
          max_examples=cfg["teacher"]["max_sft_examples"])
