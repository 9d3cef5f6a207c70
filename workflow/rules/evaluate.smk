# Every model of a variant judges every benchmark: the held-out split of the run's own items, and each
# benchmark file in evaluation.benchmarks (any loader type that yields judge items: RewardBench format, PRM800K
# steps, PandaLM, Prometheus ratings, ...).


rule evaluate:
    input:
        judge_items=lambda w: benchmark_items(w.variant, w.benchmark),
        model_dir=lambda w: model_dir(w.variant, w.model),
    output:
        judgments=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/metrics.json",
        summary=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/summary.json",
    log:
        f"{LOGS}/{{variant}}/evaluate/{{model}}/{{benchmark}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("evaluate"),
        heldout=lambda w: w.benchmark == "heldout",
    script:
        "../scripts/evaluate.py"


rule evaluate_sc:
    # Test-time scaling (FARE): k sampled judgments per item and order, majority vote for k = 1, 2, 4, ...
    input:
        judge_items=lambda w: benchmark_items(w.variant, w.benchmark),
        model_dir=lambda w: model_dir(w.variant, w.model),
    output:
        judgments=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/sc_judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/sc_metrics.json",
        summary=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/sc_summary.json",
    log:
        f"{LOGS}/{{variant}}/evaluate_sc/{{model}}/{{benchmark}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("evaluate"),
        heldout=lambda w: w.benchmark == "heldout",
    script:
        "../scripts/evaluate_sc.py"
