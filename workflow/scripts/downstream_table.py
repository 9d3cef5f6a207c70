from judgeflow.core.config import as_plain
from judgeflow.stages.report import downstream_table

sm = snakemake  # noqa: F821
downstream_table(config=as_plain(sm.params.cfg), metrics=list(sm.input.metrics), snapshot=sm.input.snapshot,
                 csv=sm.output.csv, md=sm.output.md, tex=sm.output.tex, summary=sm.output.summary, log=sm.log[0])
