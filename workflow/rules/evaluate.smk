# Every model of a variant judges every benchmark: the held-out split of the run's own items, and each
# benchmark file in evaluation.benchmarks (any loader type that yields judge items: RewardBench format, PRM800K
# steps, PandaLM, Prometheus ratings, ...).


rule evaluate:
    input:
        judge_items=lambda w: benchmark_items(w.variant, w.benchmark),
        model=lambda w: model_dir(w.variant, w.model),
    output:
        judgments=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/metrics.json",
        summary=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/summary.json",
    params:
        cfg=settings("evaluate"),
        heldout=lambda w: w.benchmark == "heldout",
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/{{variant}}/evaluate/{{model}}/{{benchmark}}.log",
    threads: SAMPLING.get("threads", THREADS)
    conda:
        ENV
    script:
        "../scripts/evaluate.py"


rule evaluate_sc:
    # Test-time scaling (FARE): k sampled judgments per item and order, majority vote for k = 1, 2, 4, ...
    input:
        judge_items=lambda w: benchmark_items(w.variant, w.benchmark),
        model=lambda w: model_dir(w.variant, w.model),
    output:
        judgments=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/sc_judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/sc_metrics.json",
        summary=f"{RESULTS}/{{variant}}/eval/{{model}}/{{benchmark}}/sc_summary.json",
    params:
        cfg=settings("evaluate"),
        heldout=lambda w: w.benchmark == "heldout",
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/{{variant}}/evaluate_sc/{{model}}/{{benchmark}}.log",
    threads: SAMPLING.get("threads", THREADS)
    conda:
        ENV
    script:
        "../scripts/evaluate_sc.py"


rule policy_answers:
    # downstream: N answers of the policy model to every held-out question, graded against the truth
    input:
        records=lambda w: f"{run_dir(w.variant, 'ingest')}/data/records.jsonl",
        policy=lambda w: base_model_dir(vcfg(w.variant)["downstream"]["policy"]),
    output:
        answers=f"{RESULTS}/{{variant}}/downstream/policy_answers.jsonl",
        summary=f"{RESULTS}/{{variant}}/downstream/policy_answers.summary.json",
    params:
        cfg=settings("policy_answers"),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/{{variant}}/policy_answers.log",
    threads: SAMPLING.get("threads", THREADS)
    conda:
        ENV
    script:
        "../scripts/policy_answers.py"


rule best_of_n:
    # downstream: the judge rates each policy answer and picks the best; vs random and oracle selection
    input:
        answers=lambda w: f"{run_dir(w.variant, 'policy_answers')}/downstream/policy_answers.jsonl",
        model=lambda w: model_dir(w.variant, w.model),
    output:
        judgments=f"{RESULTS}/{{variant}}/downstream/{{model}}/judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/downstream/{{model}}/best_of_n.json",
        summary=f"{RESULTS}/{{variant}}/downstream/{{model}}/summary.json",
    params:
        cfg=settings("evaluate"),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/{{variant}}/best_of_n/{{model}}.log",
    threads: SAMPLING.get("threads", THREADS)
    conda:
        ENV
    script:
        "../scripts/best_of_n.py"
