# Rollout round r samples from the model of round r-1 (round 0 is the DPO model) on the round's own batch
# and trains from round r-1 (rollout.init: previous, FARE) or from the round-0 model (seed, STE).


rule rollout_sample:
    input:
        judge_items=lambda w: artifact("judge_items", w.variant),
        model_dir=lambda w: model_dir(w.variant, previous_model(w.round)),
    output:
        samples=f"{RESULTS}/{{variant}}/rollout/round_{{round}}/samples.jsonl",
        kept=f"{RESULTS}/{{variant}}/rollout/round_{{round}}/kept.jsonl",
        summary=f"{RESULTS}/{{variant}}/rollout/round_{{round}}/summary.json",
    log:
        f"{LOGS}/{{variant}}/rollout_sample/round_{{round}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("rollout"),
        round_index=lambda w: int(w.round),
    script:
        "../scripts/rollout_sample.py"


rule train_rollout:
    input:
        examples=rules.rollout_sample.output.kept,
        init=lambda w: rollout_init(w.variant, w.round),
    output:
        model=directory(f"{RESULTS}/{{variant}}/models/round_{{round}}"),
        summary=f"{RESULTS}/{{variant}}/models/round_{{round}}.summary.json",
    log:
        f"{LOGS}/{{variant}}/train_rollout/round_{{round}}.log",
    conda:
        ENV
    threads: TRAINING.get("threads", THREADS)
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("rollout"),
        training="rollout.training",
        shuffle=lambda w: not vcfg(w.variant)["rollout"]["curriculum"],
    script:
        "../scripts/train_rollout.py"
