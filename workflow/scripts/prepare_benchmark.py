from judgeflow.core.config import as_plain
from judgeflow.stages.data import prepare_benchmark

sm = snakemake  # noqa: F821
prepare_benchmark(config=as_plain(sm.params.cfg), benchmark=sm.wildcards.benchmark,
                  benchmark_items=sm.output.benchmark_items, rejects=sm.output.rejects, summary=sm.output.summary,
                  log=sm.log[0])
