from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import tournament

sm = snakemake  # noqa: F821
tournament(as_plain(sm.params.cfg), sm.params.judge, sm.input.answers, sm.input.records, sm.input.model,
           sm.output.pairs, sm.output.judgments, sm.output.summary, sm.log[0], sm.threads)
