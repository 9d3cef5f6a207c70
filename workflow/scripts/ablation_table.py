from judgeflow.core.config import as_plain
from judgeflow.stages.report import ablation_table

sm = snakemake  # noqa: F821
ablation_table(config=as_plain(sm.params.cfg), ablation=sm.wildcards.ablation, cells=as_plain(sm.params.cells),
               snapshot=sm.input.snapshot, csv=sm.output.csv, md=sm.output.md, tex=sm.output.tex,
               summary=sm.output.summary, log=sm.log[0])
