from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import best_of_n

sm = snakemake  # noqa: F821
best_of_n(as_plain(sm.params.cfg), sm.wildcards.model, sm.input.answers, sm.input.model, sm.output.judgments,
          sm.output.metrics, sm.output.summary, sm.log[0], sm.threads)
