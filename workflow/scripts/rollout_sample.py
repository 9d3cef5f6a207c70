from judgeflow.core.config import as_plain
from judgeflow.stages.rollout import rollout_sample

sm = snakemake  # noqa: F821
rollout_sample(config=as_plain(sm.params.cfg), round_index=sm.params.round_index, judge_items=sm.input.judge_items,
               model_dir=sm.input.model_dir, samples=sm.output.samples, kept=sm.output.kept,
               summary=sm.output.summary, log=sm.log[0], threads=sm.threads)
