from judgeflow.config import as_plain
from judgeflow.stages import make_report

sm = snakemake  # noqa: F821
make_report(as_plain(sm.params.cfg), list(sm.input.metrics), sm.input.config, sm.output.csv, sm.output.md,
            sm.output.figure, sm.output.summary, sm.log[0])
