from judgeflow.core.config import as_plain
from judgeflow.stages.report import ablation_table

sm = snakemake  # noqa: F821
ablation_table(as_plain(sm.params.cfg), sm.wildcards.ablation, as_plain(sm.params.cells), sm.input.config,
               sm.output.csv, sm.output.md, sm.output.tex, sm.output.summary, sm.log[0])
