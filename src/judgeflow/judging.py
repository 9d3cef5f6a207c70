"""Sampling pairwise judgments and turning them into training data (SFT set, DPO pairs, rollout keeps)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from judgeflow.generation import GenerationBackend, SamplingParams
from judgeflow.templates import judge_prompt
from judgeflow.verdicts import parse_pairwise

ORDERS = ("original", "swapped")


def prompts_for(items: list[dict], orders: tuple[str, ...], template_id: str, seed: int) -> list[dict]:
    return [judge_prompt(item, order, template_id, seed) for item in items for order in orders]


def sample_judgments(backend: GenerationBackend, prompts: list[dict], params: SamplingParams,
                     verdict_cue: str | None, model: str) -> list[dict]:
    """params.n judgments per prompt, each parsed strictly.

    With a verdict cue, a critique that ends without any verdict tag is continued once: the cue (e.g.
    "\\nVerdict: [[") is appended as the start of the assistant's text and the model writes the rest, kept up
    to the tag's closing ']]'. The full text, cue included, is what gets parsed and what later stages train on.
    """
    conversations = [p["messages"] for p in prompts]
    first = backend.generate(conversations, params)
    texts = {(i, k): c.text for i, comps in enumerate(first) for k, c in enumerate(comps)}
    tokens = {(i, k): c.num_tokens for i, comps in enumerate(first) for k, c in enumerate(comps)}
    cued = []
    if verdict_cue:
        cued = [key for key, text in texts.items() if parse_pairwise(text).error == "no_verdict"]
        continued = [conversations[i] + [{"role": "assistant", "content": texts[(i, k)].rstrip() + verdict_cue}]
                     for i, k in cued]
        if continued:
            second = backend.generate(continued, params.with_(n=1, max_new_tokens=4, seed=params.seed + 1))
            for key, comps in zip(cued, second):
                texts[key] = texts[key].rstrip() + verdict_cue + _through_tag_end(comps[0].text)
                tokens[key] += comps[0].num_tokens
    cued = set(cued)
    judgments = []
    for i, prompt in enumerate(prompts):
        for k in range(params.n):
            parsed = parse_pairwise(texts[(i, k)])
            judgments.append({
                "item_id": prompt["item_id"], "order": prompt["order"], "label": prompt["label"],
                "template_id": prompt["template_id"], "sample": k, "model": model,
                "messages": prompt["messages"], "text": texts[(i, k)], "verdict": parsed.verdict,
                "parse_error": parsed.error, "correct": parsed.verdict == prompt["label"],
                "num_tokens": tokens[(i, k)], "cue_used": (i, k) in cued,
            })
    return judgments


def _through_tag_end(continuation: str) -> str:
    """What the model wrote after the cue, up to and including the first ']]' (the rest is not verdict)."""
    end = continuation.find("]]")
    return continuation if end < 0 else continuation[:end + 2]


def sft_example(judgment: dict) -> dict:
    """A conversational prompt/completion row for TRL's SFTTrainer (completion-only loss)."""
    return {"prompt": judgment["messages"], "completion": [{"role": "assistant", "content": judgment["text"]}],
            "item_id": judgment["item_id"], "order": judgment["order"]}


def split_teacher_judgments(items: list[dict], judgments: list[dict],
                            seed: int) -> tuple[list[dict], list[dict], Counter]:
    """RISE's filter: an item whose teacher judged it correctly in both orders goes to SFT (one correct
    judgment per order, drawn with the seed when the teacher sampled several), every other item goes to
    the DPO pool. Returns (sft examples, dpo pool items, reasons items went to the pool)."""
    by_item: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for judgment in judgments:
        by_item[judgment["item_id"]][judgment["order"]].append(judgment)
    sft, pool, reasons = [], [], Counter()
    for item in items:
        samples = by_item[item["id"]]
        correct = {order: [j for j in samples[order] if j["correct"]] for order in ORDERS}
        if all(correct.values()):
            rng = random.Random(f"{seed}:{item['id']}")
            sft.extend(sft_example(rng.choice(correct[order])) for order in ORDERS)
            continue
        failed = [order for order in ORDERS if not correct[order]]
        if any(all(j["parse_error"] for j in samples[order]) for order in failed):
            reasons["parse_error"] += 1
        elif len(failed) == len(ORDERS):
            reasons["wrong_in_both_orders"] += 1
        else:
            reasons["position_inconsistent"] += 1
        pool.append(item)
    return sft, pool, reasons


def group_samples(judgments: list[dict]) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for judgment in judgments:
        grouped[judgment["item_id"]].append(judgment)
    return grouped


def dpo_pairs(judgments: list[dict], seed: int) -> tuple[list[dict], Counter]:
    """One (correct, incorrect) judgment pair per item from its K samples; unparseable samples count as
    incorrect (they teach the format). Items whose samples are all correct or all incorrect yield no pair."""
    pairs, reasons = [], Counter()
    for item_id, samples in sorted(group_samples(judgments).items()):
        good = [s for s in samples if s["correct"]]
        bad = [s for s in samples if not s["correct"]]
        if not good or not bad:
            reasons["all_samples_correct" if good else "no_correct_sample"] += 1
            continue
        rng = random.Random(f"{seed}:{item_id}")
        chosen, rejected = rng.choice(good), rng.choice(bad)
        pairs.append({"prompt": chosen["messages"],
                      "chosen": [{"role": "assistant", "content": chosen["text"]}],
                      "rejected": [{"role": "assistant", "content": rejected["text"]}],
                      "item_id": item_id, "order": chosen["order"],
                      "rejected_parse_error": rejected["parse_error"]})
    return pairs, reasons


def keep_one_correct(judgments: list[dict], seed: int) -> tuple[list[dict], Counter, dict[str, int]]:
    """Rejection sampling: per item keep one correct judgment at random; items with none are dropped.
    Returns (SFT examples with their item's pass rate, reasons for dropped items, histogram of correct
    samples per item)."""
    kept, reasons, histogram = [], Counter(), Counter()
    for item_id, samples in sorted(group_samples(judgments).items()):
        good = [s for s in samples if s["correct"]]
        histogram[f"{len(good)}/{len(samples)}"] += 1
        if not good:
            reasons["no_correct_sample"] += 1
            continue
        example = sft_example(random.Random(f"{seed}:{item_id}").choice(good))
        kept.append({**example, "pass_rate": len(good) / len(samples)})
    return kept, reasons, dict(sorted(histogram.items(), key=lambda kv: tuple(map(int, kv[0].split("/")))))


def curriculum_order(examples: list[dict], seed: int) -> list[dict]:
    """FARE's continuous curriculum: easiest first (highest pass rate, K/K first); ties in seeded random order."""
    rng = random.Random(seed)
    keyed = [(-example["pass_rate"], rng.random(), example) for example in examples]
    return [example for *_, example in sorted(keyed, key=lambda k: (k[0], k[1]))]


def shuffled(examples: list[dict], seed: int) -> list[dict]:
    out = list(examples)
    random.Random(seed).shuffle(out)
    return out


def to_direct_judgments(examples: list[dict], items: dict[str, dict], share: float, template_id: str,
                        prompt_seed: int, seed: int) -> list[dict]:
    """Rewrite round(share * n) seeded-random examples as direct judgments: the prompt re-rendered with the
    verdict-only protocol (same A/B placement: prompt_seed is the seed the judge prompts were made with),
    the critique dropped, the completion just the (correct) verdict tag."""
    chosen = set(random.Random(seed).sample(range(len(examples)), round(share * len(examples))))
    out = []
    for index, example in enumerate(examples):
        if index not in chosen:
            out.append({**example, "protocol": "critique"})
            continue
        prompt = judge_prompt(items[example["item_id"]], example["order"], template_id, prompt_seed)
        verdict = parse_pairwise(example["completion"][0]["content"]).verdict
        if verdict != prompt["label"]:
            raise ValueError(f"item {example['item_id']}: only correct judgments become direct examples")
        out.append({**example, "prompt": prompt["messages"], "protocol": "direct",
                    "completion": [{"role": "assistant", "content": f"[[{verdict}]]"}]})
    return out
