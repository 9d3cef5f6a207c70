from judgeflow.core.config import as_plain
from judgeflow.stages.annotate import annotate

sm = snakemake  # noqa: F821
annotate(as_plain(sm.params.cfg), sm.input.judge_items, sm.input.teacher or None, sm.output.judgments, sm.output.sft,
         sm.output.dpo_pool, sm.output.summary, sm.log[0], sm.threads)
