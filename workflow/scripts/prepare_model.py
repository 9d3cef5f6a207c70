from judgeflow.core.config import as_plain
from judgeflow.stages.model import prepare_model

sm = snakemake  # noqa: F821
prepare_model(config=as_plain(sm.params.cfg), name=sm.wildcards.name, model=sm.output.model, summary=sm.output.summary,
              log=sm.log[0], threads=sm.threads)
