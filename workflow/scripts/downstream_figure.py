from judgeflow.core.config import as_plain
from judgeflow.stages.report import downstream_figure

sm = snakemake  # noqa: F821
downstream_figure(config=as_plain(sm.params.cfg), csv=sm.input.csv, snapshot=sm.input.snapshot, png=sm.output.png,
                  summary=sm.output.summary, log=sm.log[0])
