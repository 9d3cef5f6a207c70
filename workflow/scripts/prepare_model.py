from judgeflow.core.config import as_plain
from judgeflow.stages.model import prepare_model

sm = snakemake  # noqa: F821
prepare_model(as_plain(sm.params.cfg), sm.wildcards.name, sm.output.model, sm.output.summary, sm.log[0], sm.threads)
