"""RL for judges (GRPO with a verifiable verdict reward, as J1, JudgeLRM and J4R train judges), J4R's
position-robust grouping (EIS-GRPO), and the scalar reward-model baseline's verdicts (pairwise, and
verification through a reward threshold).

Training rows. Every item gives two rows, adjacent in the dataset (rows 2k and 2k+1 are item k): a pairwise
item its two orders (original, swapped), any other item its one prompt twice. Both groupings therefore train
on the same rows and sample the same number of completions per item (2G, G = rl.num_generations).

Grouping (rl.grouping):
- plain: TRL's GRPOTrainer unchanged; each row is one group of G completions, advantages normalised within it.
- eis (J4R's equivalent initial state GRPO): the two order rows of an item are one group of 2G completions
  and the advantage of each completion is computed against the mean (and std) of all 2G, so a verdict that
  flips with the order is penalised relative to the position-consistent ones of the same item.
  Implementation: `PairedRepeatSampler` keeps rows 2k and 2k+1 in the same generation batch (shuffling
  items, not rows), and `EISGRPOTrainer` replaces the advantages TRL computed per row with
  `grouped_advantages` over the gathered rewards grouped by item id (every other part of GRPO, loss,
  clipping, KL, logging of rewards, is TRL's). A non-pairwise item's group is 2G samples of its one prompt.

Rewards reuse the project's strict parser (`verdicts.parse_verdict`, `verdicts.is_correct`): correct,
wrong and parse-error values from rl.reward; an optional format reward (`rl.reward.format`) for a completion
that parses and writes some critique before its first verdict tag.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict

from judgeflow import tasks
from judgeflow.judge.judging import PROMPT_FIELDS, prompts_for
from judgeflow.tasks.pairwise import order_label
from judgeflow.tasks.verdicts import is_correct, parse_verdict

GROUPINGS = ("plain", "eis")


# ------------------------------------------------------------------------------------------------------------
# rows


def rl_rows(items: list[dict], pool: list[str], seed: int) -> list[dict]:
    """Two GRPO dataset rows per item, adjacent (see the module docstring); labels and parser arguments as
    JSON strings so that Arrow keeps one column type across task types."""
    rows = []
    for item in items:
        prompts = prompts_for([item], pool, seed)
        if len(prompts) == 1:
            prompts = prompts * 2
        for prompt in prompts:
            rows.append({"prompt": prompt["messages"], "group": item["id"], "order": prompt["order"],
                         "task_type": prompt["task_type"], "label": json.dumps(prompt["label"]),
                         "verdict_args": json.dumps(prompt["verdict_args"], sort_keys=True)})
    return rows


def cap_items(items: list[dict], cap: int | None, seed: int) -> tuple[list[dict], int]:
    """At most `cap` items (a seeded draw, kept in id order); returns (items, how many were left out)."""
    if cap is None or len(items) <= cap:
        return items, 0
    kept = sorted(random.Random(f"{seed}:rl").sample(items, cap), key=lambda i: i["id"])
    return kept, len(items) - cap


# ------------------------------------------------------------------------------------------------------------
# rewards


def _text(completion) -> str:
    if isinstance(completion, str):
        return completion
    return "".join(message.get("content") or "" for message in completion)


def judge_reward(text: str, task_type: str, label, verdict_args: dict, reward: dict) -> float:
    """rl.reward.correct for a correct parsed verdict, .wrong for a wrong one, .parse_error when the strict
    parser finds no single valid verdict."""
    parsed = parse_verdict(text, task_type, **verdict_args)
    if parsed.error is not None:
        return float(reward["parse_error"])
    return float(reward["correct"] if is_correct(task_type, parsed.verdict, label) else reward["wrong"])


def format_reward(text: str, task_type: str, verdict_args: dict, value: float) -> float:
    """`value` when the completion parses and writes a critique (some non-space text) before its first tag."""
    parsed = parse_verdict(text, task_type, **verdict_args)
    return float(value) if parsed.error is None and text.split("[[", 1)[0].strip() else 0.0


def reward_functions(reward: dict) -> list:
    """The callables GRPOTrainer gets (prompts, completions and the dataset columns as keyword arguments):
    the verdict reward, and the format reward when rl.reward.format is not 0."""

    def verdict_reward(prompts, completions, task_type, label, verdict_args, **kwargs):
        return [judge_reward(_text(c), t, json.loads(gold), json.loads(args), reward)
                for c, t, gold, args in zip(completions, task_type, label, verdict_args)]

    def critique_format_reward(prompts, completions, task_type, verdict_args, **kwargs):
        return [format_reward(_text(c), t, json.loads(args), reward["format"])
                for c, t, args in zip(completions, task_type, verdict_args)]

    return [verdict_reward] + ([critique_format_reward] if reward.get("format") else [])


# ------------------------------------------------------------------------------------------------------------
# EIS grouping


def grouped_advantages(rewards, groups: list, scale_rewards: str = "group"):
    """GRPO advantages with groups given by id instead of by position: each reward minus the mean of its
    group, divided by the group's std + 1e-4 (scale_rewards 'group', TRL's formula, Bessel-corrected std),
    by the batch std ('batch') or not at all ('none'). NaN rewards are left out of the statistics and get
    advantage 0, as in TRL."""
    import torch
    from trl.trainer.utils import nanstd

    if len(groups) != len(rewards):
        raise ValueError(f"{len(rewards)} rewards but {len(groups)} group ids")
    index: dict = {}
    ids = torch.tensor([index.setdefault(g, len(index)) for g in groups], device=rewards.device)
    mean = torch.empty_like(rewards)
    std = torch.empty_like(rewards)
    for g in range(len(index)):
        members = ids == g
        values = rewards[members]
        mean[members] = torch.nanmean(values)
        std[members] = nanstd(values) if values.numel() > 1 else torch.zeros((), device=rewards.device)
    if scale_rewards == "batch":
        std = nanstd(rewards).expand_as(rewards) if rewards.numel() > 1 else torch.zeros_like(rewards)
    advantages = rewards - mean
    if scale_rewards != "none":
        advantages = advantages / (std + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0)


class PairedRepeatSampler:
    """TRL's RepeatSampler over pairs of rows: items (rows 2k, 2k+1) are shuffled with the seed, never split,
    so both orders of an item land in the same generation batch; each row is repeated num_generations times
    (mini_repeat_count) and each batch repeat_count times, exactly as RepeatSampler does for single rows.
    batch_size counts rows and must be even."""

    def __init__(self, data_source, mini_repeat_count: int, batch_size: int, repeat_count: int = 1,
                 shuffle: bool = True, seed: int | None = None):
        import torch

        if batch_size % 2:
            raise ValueError(f"EIS grouping needs an even number of rows per generation batch, got {batch_size}")
        if len(data_source) % 2:
            raise ValueError(f"EIS grouping needs two rows per item, got {len(data_source)} rows")
        self.num_pairs = len(data_source) // 2
        self.mini_repeat_count, self.batch_size, self.repeat_count = mini_repeat_count, batch_size, repeat_count
        self.shuffle = shuffle
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)

    def __iter__(self):
        import torch

        pairs = torch.randperm(self.num_pairs, generator=self.generator).tolist() if self.shuffle \
            else list(range(self.num_pairs))
        rows = [row for pair in pairs for row in (2 * pair, 2 * pair + 1)]
        chunks = [rows[i:i + self.batch_size] for i in range(0, len(rows), self.batch_size)]
        for chunk in (c for c in chunks if len(c) == self.batch_size):
            for _ in range(self.repeat_count):
                for index in chunk:
                    for _ in range(self.mini_repeat_count):
                        yield index

    def __len__(self) -> int:
        full = (2 * self.num_pairs) // self.batch_size
        return full * self.batch_size * self.mini_repeat_count * self.repeat_count


_EIS_CLASS = None


def eis_trainer_class():
    """GRPOTrainer with EIS grouping (built on first use so importing this module does not import TRL)."""
    global _EIS_CLASS
    if _EIS_CLASS is not None:
        return _EIS_CLASS
    import torch
    from accelerate.utils import gather_object
    from trl import GRPOTrainer

    class EISGRPOTrainer(GRPOTrainer):
        """GRPO whose advantage groups are the 2G completions of an item's two orders (module docstring)."""

        def _get_train_sampler(self, dataset=None):
            dataset = self.train_dataset if dataset is None else dataset
            return PairedRepeatSampler(dataset, mini_repeat_count=self.num_generations,
                                       batch_size=self.args.generation_batch_size // self.num_generations,
                                       repeat_count=self.num_iterations * self.args.steps_per_generation,
                                       shuffle=self.shuffle_dataset, seed=self.args.seed)

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._eis_rewards_per_func = rewards_per_func  # gathered over processes, in process order
            return rewards_per_func

        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            if not self.model.training:
                return output
            groups = gather_object([row["group"] for row in inputs])
            sizes: dict = {}
            for group in groups:
                sizes[group] = sizes.get(group, 0) + 1
            wanted = 2 * self.num_generations
            if any(size != wanted for size in sizes.values()):
                raise RuntimeError(f"EIS grouping: every item needs {wanted} completions (both orders) in one "
                                   f"generation batch, got {sorted(set(sizes.values()))}")
            rewards_per_func = self._eis_rewards_per_func
            rewards = (rewards_per_func * self.reward_weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
            rewards[rewards_per_func.isnan().all(dim=1)] = float("nan")
            advantages = grouped_advantages(rewards, groups, self.scale_rewards)
            # TRL's frac_reward_zero_std is per row; this is per EIS group (zero std: no gradient from it)
            constant = [torch.isclose(rewards[[i for i, g in enumerate(groups) if g == group]].nan_to_num(0).std(),
                                      torch.zeros((), device=rewards.device)).item() for group in sizes]
            self._metrics["train"]["eis_frac_reward_zero_std"].append(sum(constant) / len(constant))
            start = self.accelerator.process_index * len(inputs)
            output["advantages"] = advantages[start:start + len(inputs)].to(output["advantages"].device)
            return output

    _EIS_CLASS = EISGRPOTrainer
    return _EIS_CLASS


# ------------------------------------------------------------------------------------------------------------
# the scalar reward model as a judge of pairs and of verification items

def rm_task_types() -> tuple[str, ...]:
    """The task types the reward model trains on and judges: pairwise, and the yes/no (binary) ones."""
    return ("pairwise",) + tasks.binary_tasks()


def rm_conversation(item: dict, response: str | None = None) -> list[dict]:
    """What the reward model scores: the item's question as the user turn (for reference verification followed
    by a "Reference answer: ..." line), one response as the assistant's (a pair's side, given; a verification
    item's own response by default)."""
    question = item["question"]
    if item["task_type"] == "ref_verification":
        question = f"{question}\n\nReference answer: {item['reference']}"
    return [{"role": "user", "content": question},
            {"role": "assistant", "content": item["response"] if response is None else response}]


def rm_pairs(items: list[dict], seed: int) -> tuple[list[dict], Counter]:
    """Bradley-Terry training pairs, each side a whole conversation (rm_conversation; TRL joins an explicit
    prompt to each side before tokenizing, so a pair of one question tokenizes as it would with one).

    Pairwise items: chosen vs rejected (human ties left out: reason `tie`). Verification items, per task type:
    a response labelled "yes" (chosen) vs one labelled "no" (rejected), from a seeded shuffle of each class,
    pairs of the same question first, then the rest one-to-one, min(#yes, #no) pairs; the items left over are
    counted as `unpaired`. A question gives one item per task type, so most such pairs join two questions:
    Bradley-Terry on them ranks right responses above wrong ones across questions (an AUC objective), which a
    threshold on the reward then turns into verdicts (rm_threshold). Returns (pairs, reasons items were left out)."""
    pairs, reasons = [], Counter()
    for item in items:
        if item["task_type"] != "pairwise":
            continue
        if item.get("tie"):
            reasons["tie"] += 1
            continue
        pairs.append({"task_type": "pairwise", "item_id": item["id"],
                      "chosen": rm_conversation(item, item["chosen"]),
                      "rejected": rm_conversation(item, item["rejected"])})
    for task_type in tasks.binary_tasks():
        classes = {}
        for label in ("yes", "no"):
            members = sorted((i for i in items if i["task_type"] == task_type and i["label"] == label),
                             key=lambda i: i["id"])
            random.Random(f"{seed}:rm:{task_type}:{label}").shuffle(members)
            classes[label] = members
        rejected_by_question = defaultdict(list)
        for item in classes["no"]:
            rejected_by_question[item["question"]].append(item)
        matched, rest_yes = [], []
        for item in classes["yes"]:
            same = rejected_by_question[item["question"]]
            if same:
                matched.append((item, same.pop(0)))
            else:
                rest_yes.append(item)
        used = {no["id"] for _, no in matched}
        rest_no = [item for item in classes["no"] if item["id"] not in used]
        matched += list(zip(rest_yes, rest_no))
        pairs += [{"task_type": task_type, "chosen_item_id": yes["id"], "rejected_item_id": no["id"],
                   "chosen": rm_conversation(yes), "rejected": rm_conversation(no)} for yes, no in matched]
        left = len(classes["yes"]) + len(classes["no"]) - 2 * len(matched)
        if left:
            reasons["unpaired"] += left
    return pairs, reasons


def rm_threshold(rewards: list[float], labels: list[str]) -> tuple[float, float]:
    """The reward above which a verification item is judged "yes": of the midpoints between adjacent distinct
    sorted rewards, the one with the best balanced accuracy (mean of the yes and no recalls) on these items;
    among equally good ones the one nearest the middle (the number of items below it closest to half of them),
    then the lower. Returns (threshold, balanced accuracy). Needs both labels and two distinct rewards."""
    if len(rewards) != len(labels):
        raise ValueError(f"{len(rewards)} rewards but {len(labels)} labels")
    yes_total = sum(label == "yes" for label in labels)
    no_total = len(labels) - yes_total
    if not yes_total or not no_total:
        raise ValueError(f"a threshold needs 'yes' and 'no' items, got {yes_total} yes and {no_total} no")
    values = sorted(set(rewards))
    if len(values) < 2:
        raise ValueError(f"a threshold needs two distinct rewards, got only {values}")
    by_value = {value: [0, 0] for value in values}  # value -> [yes, no] items with that reward
    for reward, label in zip(rewards, labels):
        by_value[reward][0 if label == "yes" else 1] += 1
    best, yes_below, no_below = None, 0, 0
    for low, high in zip(values, values[1:]):
        yes_below += by_value[low][0]
        no_below += by_value[low][1]
        # balanced accuracy x 2 x yes_total x no_total, an integer: equal scores compare equal
        score = (yes_total - yes_below) * no_total + no_below * yes_total
        key = (-score, abs(2 * (yes_below + no_below) - len(rewards)), low)
        if best is None or key < best[0]:
            best = (key, (low + high) / 2, score / (2 * yes_total * no_total))
    return best[1], best[2]


def rm_thresholds(items: list[dict], rewards: list[float]) -> dict[str, dict]:
    """rm_threshold per verification task type of `items` (scored `rewards`, in the same order), as train_rm's
    summary records it: {"thresholds": {task type: threshold}, "threshold_balanced_accuracy": {task type: its
    balanced accuracy on these items}, "threshold_items": {task type: items}}."""
    if len(items) != len(rewards):
        raise ValueError(f"{len(items)} items but {len(rewards)} rewards")
    out = {"thresholds": {}, "threshold_balanced_accuracy": {}, "threshold_items": {}}
    for task_type in tasks.binary_tasks():
        scored = [(reward, item["label"]) for item, reward in zip(items, rewards) if item["task_type"] == task_type]
        if not scored:
            continue
        threshold, balanced = rm_threshold([reward for reward, _ in scored], [label for _, label in scored])
        out["thresholds"][task_type] = threshold
        out["threshold_balanced_accuracy"][task_type] = balanced
        out["threshold_items"][task_type] = len(scored)
    return out


def _rm_record(prompt: dict, verdict: str, text: str, **rewards: float) -> dict:
    """A judgment record of the reward model (the `evaluate` format: no parse errors, no tokens sampled)."""
    return {**{key: prompt[key] for key in PROMPT_FIELDS if key in prompt}, "sample": 0, "model": "rm",
            "text": text, "verdict": verdict, "parse_error": None,
            "correct": is_correct(prompt["task_type"], verdict, prompt["label"]), "num_tokens": 0,
            "cue_used": False, **rewards}


def rm_judgments(prompts: list[dict], rewards: dict[str, tuple[float, float]], seed: int) -> list[dict]:
    """Judgment records (the `evaluate` format) of a scalar reward model on pairwise prompts: a prompt is
    judged A when the response shown as A gets the higher reward, B when the other does, and `tie` (a tie
    verdict: wrong in accuracy, 0.5 in rewardbench_score, never a parse error) when they are equal.
    rewards: {item id: (reward of chosen, reward of rejected)}. Both orders are written, identical by
    construction, so the pairwise metrics stay comparable with the generative judges' (consistency 1 but for
    ties, which metrics never counts as consistent)."""
    out = []
    for prompt in prompts:
        chosen, rejected = rewards[prompt["item_id"]]
        chosen_pos = order_label(prompt["item_id"], seed)
        if prompt["order"] == "swapped":
            chosen_pos = "B" if chosen_pos == "A" else "A"
        other = "B" if chosen_pos == "A" else "A"
        verdict = chosen_pos if chosen > rejected else other if chosen < rejected else "tie"
        reward_a, reward_b = (chosen, rejected) if chosen_pos == "A" else (rejected, chosen)
        out.append(_rm_record(prompt, verdict, f"reward(A) = {reward_a:.6f}, reward(B) = {reward_b:.6f}",
                              reward_a=reward_a, reward_b=reward_b))
    return out


def rm_verification_judgments(prompts: list[dict], rewards: dict[str, float],
                              thresholds: dict[str, float]) -> list[dict]:
    """Judgment records (the `evaluate` format) of a scalar reward model on verification prompts: "yes" when
    the item's reward is above its task type's threshold (rm_threshold, chosen on the training items), else
    "no". rewards: {item id: reward of its response}; thresholds: {task type: threshold}."""
    out = []
    for prompt in prompts:
        reward, threshold = rewards[prompt["item_id"]], thresholds[prompt["task_type"]]
        verdict = "yes" if reward > threshold else "no"
        out.append(_rm_record(prompt, verdict, f"reward = {reward:.6f}, threshold = {threshold:.6f}",
                              reward=reward, threshold=threshold))
    return out
