from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import policy_accuracy

sm = snakemake  # noqa: F821
policy_accuracy(config=as_plain(sm.params.cfg), policy=sm.wildcards.policy, answers=sm.input.answers,
                accuracy=sm.output.accuracy, summary=sm.output.summary, log=sm.log[0])
