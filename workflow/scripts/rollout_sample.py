from judgeflow.core.config import as_plain
from judgeflow.stages.rollout import rollout_sample

sm = snakemake  # noqa: F821
rollout_sample(as_plain(sm.params.cfg), sm.params.round, sm.input.judge_items, sm.input.model, sm.output.samples,
               sm.output.kept, sm.output.summary, sm.log[0], sm.threads)
