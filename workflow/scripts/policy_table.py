from judgeflow.core.config import as_plain
from judgeflow.stages.report import policy_table

sm = snakemake  # noqa: F821
policy_table(as_plain(sm.params.cfg), list(sm.input.accuracy), sm.input.config, sm.output.csv, sm.output.md,
             sm.output.tex, sm.output.summary, sm.log[0])
