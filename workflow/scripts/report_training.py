from judgeflow.core.config import as_plain
from judgeflow.stages.report import report_training

sm = snakemake  # noqa: F821
report_training(as_plain(sm.params.cfg), list(sm.input.summaries), sm.input.config, sm.output.csv, sm.output.md,
                sm.output.png, sm.output.summary, sm.log[0], sampling=list(sm.input.sampling))
