# RL for judges: GRPO on the seed items with a verifiable verdict reward (J1, JudgeLRM, J4R), from the model
# rl.init names, with plain or EIS grouping (rl.grouping; judgeflow.training.rl). And the classifier baseline: a scalar
# Bradley-Terry reward model (TRL RewardTrainer) from the base model on the pairwise and verification seed items,
# which judges a pair by its two rewards and a verification item by its reward against the threshold train_rm
# chose on its training items and recorded in rm.summary.json (evaluate_rm writes the `evaluate` record format,
# model rm; step-level and rating items are left out).


rule train_rl:
    input:
        judge_items=lambda w: artifact("judge_items", w.variant),
        init=lambda w: model_dir(w.variant, rl_init_model(w.variant)),
    output:
        model=directory(f"{RESULTS}/{{variant}}/models/rl"),
        summary=f"{RESULTS}/{{variant}}/models/rl.summary.json",
    log:
        f"{LOGS}/{{variant}}/train_rl.log",
    conda:
        ENV
    threads: TRAINING.get("threads", THREADS)
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("train_rl"),
    script:
        "../scripts/train_rl.py"


rule train_rm:
    input:
        judge_items=lambda w: artifact("judge_items", w.variant),
        init=lambda w: model_dir(w.variant, "base"),
    output:
        model=directory(f"{RESULTS}/{{variant}}/models/rm"),
        summary=f"{RESULTS}/{{variant}}/models/rm.summary.json",
    log:
        f"{LOGS}/{{variant}}/train_rm.log",
    conda:
        ENV
    threads: TRAINING.get("threads", THREADS)
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("train_rm"),
    script:
        "../scripts/train_rm.py"


rule evaluate_rm:
    input:
        judge_items=lambda w: benchmark_items(w.variant, w.benchmark),
        model_dir=lambda w: model_dir(w.variant, "rm"),
        rm_summary=lambda w: f"{model_dir(w.variant, 'rm')}.summary.json",
    output:
        judgments=f"{RESULTS}/{{variant}}/eval/rm/{{benchmark}}/judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/eval/rm/{{benchmark}}/metrics.json",
        summary=f"{RESULTS}/{{variant}}/eval/rm/{{benchmark}}/summary.json",
    log:
        f"{LOGS}/{{variant}}/evaluate_rm/{{benchmark}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("evaluate_rm"),
        heldout=lambda w: w.benchmark == "heldout",
    script:
        "../scripts/evaluate_rm.py"
