from judgeflow.core.config import as_plain
from judgeflow.stages.data import prepare_benchmark

sm = snakemake  # noqa: F821
prepare_benchmark(as_plain(sm.params.cfg), sm.wildcards.benchmark, sm.output.benchmark_items, sm.output.rejects,
                  sm.output.summary, sm.log[0])
