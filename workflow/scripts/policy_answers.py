from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import policy_answers

sm = snakemake  # noqa: F821
policy_answers(config=as_plain(sm.params.cfg), records=sm.input.records, policy_dir=sm.input.policy_dir,
               answers=sm.output.answers, summary=sm.output.summary, log=sm.log[0], threads=sm.threads,
               split=sm.wildcards.split, n=sm.params.n)
