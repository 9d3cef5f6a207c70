from judgeflow.core.config import as_plain
from judgeflow.stages import write_config_snapshot

sm = snakemake  # noqa: F821
write_config_snapshot(as_plain(sm.params.cfg), sm.output[0])
