rule annotate:
    input:
        judge_items=lambda w: f"{run_dir(w.variant, 'build_items')}/data/items.jsonl",
        teacher=lambda w: [] if programmatic_teacher(w.variant) else base_model_dir(vcfg(w.variant)["teacher"]["model"]),
    output:
        judgments=f"{RESULTS}/{{variant}}/annotate/judgments.jsonl",
        sft=f"{RESULTS}/{{variant}}/annotate/sft.jsonl",
        dpo_pool=f"{RESULTS}/{{variant}}/annotate/dpo_pool.jsonl",
        summary=f"{RESULTS}/{{variant}}/annotate/summary.json",
    log:
        f"{LOGS}/{{variant}}/annotate.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=lambda w: (
            0
            if programmatic_teacher(w.variant)
            or config["models"][vcfg(w.variant)["teacher"]["model"]]["source"] == "openai"
            else SAMPLING["gpu"]
        ),
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("annotate"),
    script:
        "../scripts/annotate.py"
