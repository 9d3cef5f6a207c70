from judgeflow.core.config import as_plain
from judgeflow.stages.data import generate_responses

sm = snakemake  # noqa: F821
generate_responses(as_plain(sm.params.cfg), sm.wildcards.name, sm.input.records, sm.input.model,
                   sm.output.responses, sm.output.summary, sm.log[0], sm.threads)
