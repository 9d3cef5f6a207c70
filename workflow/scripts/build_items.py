from judgeflow.config import as_plain
from judgeflow.stages import build_items

sm = snakemake  # noqa: F821
build_items(as_plain(sm.params.cfg), sm.input.questions, list(sm.input.responses), sm.output.pairs,
            sm.output.verification, sm.output.rejects, sm.output.summary, sm.log[0])
