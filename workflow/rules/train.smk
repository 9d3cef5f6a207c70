# SFT warm-up on the teacher's filtered judgments, then DPO + NLL on the items it got wrong (RISE).


rule train_sft:
    input:
        examples=lambda w: artifact("sft_examples", w.variant),
        init=lambda w: model_dir(w.variant, "base"),
    output:
        model=directory(f"{RESULTS}/{{variant}}/models/sft"),
        summary=f"{RESULTS}/{{variant}}/models/sft.summary.json",
    log:
        f"{LOGS}/{{variant}}/train_sft.log",
    conda:
        ENV
    threads: TRAINING.get("threads", THREADS)
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("train_sft"),
        training="sft",
        shuffle=True,
    script:
        "../scripts/train_sft.py"


rule dpo_sample:
    input:
        judge_items=lambda w: dpo_items(w.variant),
        model_dir=lambda w: dpo_init_dir(w.variant),
    output:
        samples=f"{RESULTS}/{{variant}}/dpo/samples.jsonl",
        pairs=artifact("dpo_pairs"),
        summary=f"{RESULTS}/{{variant}}/dpo/summary.json",
    log:
        f"{LOGS}/{{variant}}/dpo_sample.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("dpo_sample"),
    script:
        "../scripts/dpo_sample.py"


rule train_dpo:
    input:
        pairs=lambda w: artifact("dpo_pairs", w.variant),
        init=lambda w: dpo_init_dir(w.variant),
    output:
        model=directory(f"{RESULTS}/{{variant}}/models/dpo"),
        summary=f"{RESULTS}/{{variant}}/models/dpo.summary.json",
    log:
        f"{LOGS}/{{variant}}/train_dpo.log",
    conda:
        ENV
    threads: TRAINING.get("threads", THREADS)
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("train_dpo"),
    script:
        "../scripts/train_dpo.py"
