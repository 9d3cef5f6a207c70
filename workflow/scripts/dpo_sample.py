from judgeflow.core.config import as_plain
from judgeflow.stages.train import dpo_sample

sm = snakemake  # noqa: F821
dpo_sample(config=as_plain(sm.params.cfg), judge_items=sm.input.judge_items, model_dir=sm.input.model_dir,
           samples=sm.output.samples, pairs=sm.output.pairs, summary=sm.output.summary, log=sm.log[0],
           threads=sm.threads)
