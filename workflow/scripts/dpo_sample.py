from judgeflow.core.config import as_plain
from judgeflow.stages.train import dpo_sample

sm = snakemake  # noqa: F821
dpo_sample(as_plain(sm.params.cfg), sm.input.judge_items, sm.input.model, sm.output.samples, sm.output.pairs,
           sm.output.summary, sm.log[0], sm.threads)
