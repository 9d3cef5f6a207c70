from judgeflow.core.config import as_plain
from judgeflow.stages.report import downstream_table

sm = snakemake  # noqa: F821
downstream_table(as_plain(sm.params.cfg), list(sm.input.metrics), sm.input.config, sm.output.csv, sm.output.md,
                 sm.output.tex, sm.output.summary, sm.log[0])
