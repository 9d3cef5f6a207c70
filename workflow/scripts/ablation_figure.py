from judgeflow.core.config import as_plain
from judgeflow.stages.report import ablation_figure

sm = snakemake  # noqa: F821
ablation_figure(config=as_plain(sm.params.cfg), ablation=sm.wildcards.ablation, csv=sm.input.csv,
                snapshot=sm.input.snapshot, png=sm.output.png, summary=sm.output.summary, log=sm.log[0])
