# Rollout round r samples from the model of round r-1 (round 0 is the DPO model) on the round's own batch
# and trains from round r-1 (rollout.init: previous, FARE) or from the round-0 model (seed, STE).


rule rollout_sample:
    input:
        pairs=rules.build_items.output.pairs,
        model=lambda w: model_dir(previous_model(w.round)),
    output:
        samples=f"{RESULTS}/rollout/round_{{round}}/samples.jsonl",
        kept=f"{RESULTS}/rollout/round_{{round}}/kept.jsonl",
        summary=f"{RESULTS}/rollout/round_{{round}}/summary.json",
    params:
        cfg=settings(
            "seed",
            "judge",
            "generation",
            "rollout.samples_per_item",
            "rollout.sampling",
            "rollout.curriculum",
            "rollout.direct_judgment_share",
        ),
        round=lambda w: int(w.round),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/rollout_sample/round_{{round}}.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/rollout_sample.py"


rule train_rollout:
    input:
        examples=rules.rollout_sample.output.kept,
        init=lambda w: rollout_init(w.round),
    output:
        model=directory(f"{RESULTS}/models/round_{{round}}"),
        summary=f"{RESULTS}/models/round_{{round}}.summary.json",
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("seed", "rollout.training", "rollout.init"),
        training="rollout.training",
        shuffle=not config["rollout"]["curriculum"],
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    log:
        f"{LOGS}/train_rollout/round_{{round}}.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/train_sft.py"
