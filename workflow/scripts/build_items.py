from judgeflow.core.config import as_plain
from judgeflow.stages.data import build_items

sm = snakemake  # noqa: F821
build_items(as_plain(sm.params.cfg), sm.input.records, list(sm.input.responses), list(sm.input.benchmarks),
            sm.output.judge_items, sm.output.rejects, sm.output.summary, sm.log[0])
