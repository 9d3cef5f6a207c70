from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import policy_answers

sm = snakemake  # noqa: F821
policy_answers(as_plain(sm.params.cfg), sm.input.records, sm.input.policy, sm.output.answers, sm.output.summary,
               sm.log[0], sm.threads, split=sm.wildcards.split, n=sm.params.n)
