from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import policy_accuracy

sm = snakemake  # noqa: F821
policy_accuracy(as_plain(sm.params.cfg), sm.wildcards.policy, sm.input.answers, sm.output.accuracy, sm.output.summary,
                sm.log[0])
