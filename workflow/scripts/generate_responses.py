from judgeflow.core.config import as_plain
from judgeflow.stages.data import generate_responses

sm = snakemake  # noqa: F821
generate_responses(config=as_plain(sm.params.cfg), name=sm.wildcards.name, records=sm.input.records,
                   model_dir=sm.input.model_dir, responses=sm.output.responses, summary=sm.output.summary,
                   log=sm.log[0], threads=sm.threads)
