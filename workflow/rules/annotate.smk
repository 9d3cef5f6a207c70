rule annotate:
    input:
        pairs=rules.build_items.output.pairs,
        teacher=base_model_dir(config["teacher"]["model"]),
    output:
        judgments=f"{RESULTS}/annotate/judgments.jsonl",
        sft=f"{RESULTS}/annotate/sft.jsonl",
        dpo_pool=f"{RESULTS}/annotate/dpo_pool.jsonl",
        summary=f"{RESULTS}/annotate/summary.json",
    params:
        cfg=settings("seed", "judge", "teacher", "generation"),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/annotate.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/annotate.py"
