from judgeflow.core.config import as_plain
from judgeflow.stages.data import ingest

sm = snakemake  # noqa: F821
ingest(as_plain(sm.params.cfg), sm.output.records, sm.output.rejects, sm.output.summary, sm.log[0])
