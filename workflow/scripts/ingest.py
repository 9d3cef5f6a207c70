from judgeflow.core.config import as_plain
from judgeflow.stages.data import ingest

sm = snakemake  # noqa: F821
ingest(config=as_plain(sm.params.cfg), records=sm.output.records, rejects=sm.output.rejects, summary=sm.output.summary,
       log=sm.log[0])
