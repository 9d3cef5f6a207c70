from judgeflow.core.config import as_plain
from judgeflow.stages.report import policy_table

sm = snakemake  # noqa: F821
policy_table(config=as_plain(sm.params.cfg), accuracy=list(sm.input.accuracy), snapshot=sm.input.snapshot,
             csv=sm.output.csv, md=sm.output.md, tex=sm.output.tex, summary=sm.output.summary, log=sm.log[0])
