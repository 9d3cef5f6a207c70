from judgeflow.core.config import as_plain
from judgeflow.stages.data import build_items

sm = snakemake  # noqa: F821
build_items(config=as_plain(sm.params.cfg), records=sm.input.records, responses=list(sm.input.responses),
            benchmarks=list(sm.input.benchmarks), judge_items=sm.output.judge_items, rejects=sm.output.rejects,
            summary=sm.output.summary, log=sm.log[0])
