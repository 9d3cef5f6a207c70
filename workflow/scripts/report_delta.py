from judgeflow.core.config import as_plain
from judgeflow.stages.report import report_delta

sm = snakemake  # noqa: F821
report_delta(as_plain(sm.params.cfg), list(sm.input.judgments), sm.input.config, sm.output.csv, sm.output.md,
             sm.output.tex, sm.output.summary, sm.log[0])
