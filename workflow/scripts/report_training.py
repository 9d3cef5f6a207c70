from judgeflow.core.config import as_plain
from judgeflow.stages.report import report_training

sm = snakemake  # noqa: F821
report_training(config=as_plain(sm.params.cfg), summaries=list(sm.input.summaries), sampling=list(sm.input.sampling),
                snapshot=sm.input.snapshot, csv=sm.output.csv, md=sm.output.md, png=sm.output.png,
                summary=sm.output.summary, log=sm.log[0])
