rule evaluate:
    input:
        pairs=rules.build_items.output.pairs,
        model=lambda w: model_dir(w.model),
    output:
        judgments=f"{RESULTS}/eval/{{model}}/judgments.jsonl",
        metrics=f"{RESULTS}/eval/{{model}}/metrics.json",
        summary=f"{RESULTS}/eval/{{model}}/summary.json",
    params:
        cfg=settings("seed", "judge", "generation", "evaluation"),
        stage_index=lambda w: STAGE_MODELS.index(w.model),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/evaluate/{{model}}.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/evaluate.py"
