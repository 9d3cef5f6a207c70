from judgeflow.core.config import as_plain
from judgeflow.stages.report import report_figure

sm = snakemake  # noqa: F821
report_figure(as_plain(sm.params.cfg), sm.input.csv, sm.input.config, sm.output.png, sm.output.summary, sm.log[0])
