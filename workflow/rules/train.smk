rule train_sft:
    input:
        examples=rules.annotate.output.sft,
        init=model_dir("base"),
    output:
        model=directory(f"{RESULTS}/models/sft"),
        summary=f"{RESULTS}/models/sft.summary.json",
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("seed", "sft"),
        training="sft",
        shuffle=True,
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    log:
        f"{LOGS}/train_sft.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/train_sft.py"


rule dpo_sample:
    input:
        pool=rules.annotate.output.dpo_pool,
        model=rules.train_sft.output.model,
    output:
        samples=f"{RESULTS}/dpo/samples.jsonl",
        pairs=f"{RESULTS}/dpo/pairs.jsonl",
        summary=f"{RESULTS}/dpo/summary.json",
    params:
        cfg=settings("seed", "judge", "generation", "dpo.samples_per_item", "dpo.sampling"),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/dpo_sample.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/dpo_sample.py"


rule train_dpo:
    input:
        pairs=rules.dpo_sample.output.pairs,
        init=rules.train_sft.output.model,
    output:
        model=directory(f"{RESULTS}/models/dpo"),
        summary=f"{RESULTS}/models/dpo.summary.json",
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=settings("seed", "dpo.beta", "dpo.nll_weight", "dpo.training"),
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    log:
        f"{LOGS}/train_dpo.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/train_dpo.py"
