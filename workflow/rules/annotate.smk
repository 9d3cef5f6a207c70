rule annotate:
    input:
        judge_items=lambda w: artifact("judge_items", w.variant),
        teacher=lambda w: [] if programmatic_teacher(w.variant) else base_model_dir(vcfg(w.variant)["teacher"]["model"]),
    output:
        judgments=f"{RESULTS}/{{variant}}/annotate/judgments.jsonl",
        sft=artifact("sft_examples"),
        dpo_pool=artifact("dpo_pool"),
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
