from judgeflow.core.config import as_plain
from judgeflow.stages.report import report_delta

sm = snakemake  # noqa: F821
report_delta(config=as_plain(sm.params.cfg), judgments=list(sm.input.judgments), snapshot=sm.input.snapshot,
             csv=sm.output.csv, md=sm.output.md, tex=sm.output.tex, summary=sm.output.summary, log=sm.log[0])
