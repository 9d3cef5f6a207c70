from judgeflow.core.config import as_plain
from judgeflow.stages.report import config_snapshot

sm = snakemake  # noqa: F821
config_snapshot(config=as_plain(sm.params.cfg), snapshot=sm.output.snapshot)
