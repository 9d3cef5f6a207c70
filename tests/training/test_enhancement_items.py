"""Which items DPO and the rollout rounds judge: the teacher's pool / fresh batches (RISE, FARE) or the seed
items (dpo.items: seed, rollout.items: seed), so that DPO, rounds and GRPO can be compared on the same data."""

import pytest

from judgeflow.core.config import ConfigError, deep_merge, fresh_rounds
from judgeflow.core.config_checks import validate_config
from judgeflow.core.records import read_json, write_jsonl
from judgeflow.core.variants import canonical
from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.stages import rollout as rollout_stages
from judgeflow.stages import train as train_stages
from judgeflow.tasks.items import question_items

TEMPLATES = ["pairwise_critique_en", "step_level_critique_en", "ref_verification_extract_en",
             "ref_free_verification_critique_en", "single_rating_critique_en"]


def _items(split: str, n: int, seed: int) -> list[dict]:
    items = []
    for record in synthetic_arithmetic(f"arith{split}", n, 2, 3, 20, seed):
        got, _ = question_items({**record, "split": split, "kind": "question"}, [], True, 1, seed)
        items += [item for item in got if item["task_type"] == "ref_verification"]
    return items


@pytest.fixture
def files(tmp_path):
    seed, fresh = _items("seed", 5, 1), _items("rollout_1", 3, 2)
    items, pool = tmp_path / "items.jsonl", tmp_path / "pool.jsonl"
    write_jsonl(items, seed + fresh)
    write_jsonl(pool, seed[:1])
    return tmp_path, items, pool, len(seed), len(fresh)


def _config(test_config, overlay: dict):
    """The test config with every task type's template, few samples per item, and `overlay` merged over it."""
    base = {"judge": {"templates": TEMPLATES}, "dpo": {"samples_per_item": 2}, "rollout": {"samples_per_item": 1}}
    overlay = deep_merge(base, overlay)
    config = deep_merge(test_config, overlay)
    validate_config(config)
    return config


@pytest.mark.parametrize("which", ["pool", "seed"])
def test_dpo_samples_the_pool_or_every_seed_item(test_config, tiny_model_dir, files, which):
    tmp, items, pool, n_seed, _ = files
    config = _config(test_config, {"dpo": {"items": which}})
    train_stages.dpo_sample(config=config, judge_items=str(items if which == "seed" else pool),
                            model_dir=tiny_model_dir, samples=str(tmp / "s.jsonl"), pairs=str(tmp / "p.jsonl"),
                            summary=str(tmp / "summary.json"), log=str(tmp / "log"), threads=1)
    assert read_json(tmp / "summary.json")["items_in"] == (n_seed if which == "seed" else 1)


@pytest.mark.parametrize("which", ["fresh", "seed"])
def test_a_round_judges_its_fresh_batch_or_the_seed_items(test_config, tiny_model_dir, files, which):
    tmp, items, _, n_seed, n_fresh = files
    config = _config(test_config, {"rollout": {"items": which}})
    rollout_stages.rollout_sample(config=config, round_index=1, judge_items=str(items), model_dir=tiny_model_dir,
                                  samples=str(tmp / "s.jsonl"), kept=str(tmp / "k.jsonl"),
                                  summary=str(tmp / "summary.json"), log=str(tmp / "log"), threads=1)
    assert read_json(tmp / "summary.json")["items_in"] == (n_seed if which == "seed" else n_fresh)


def test_rounds_on_the_seed_items_reserve_no_questions(test_config):
    # test.yaml's sources give 48 records; 8 + 14 + 6 x 5 fresh rounds = 52 do not fit, rounds on seed items do
    with pytest.raises(ConfigError, match="rollout.rounds 5"):
        validate_config(deep_merge(test_config, {"rollout": {"rounds": 5}}))
    config = deep_merge(test_config, {"rollout": {"rounds": 5, "items": "seed"}})
    validate_config(config)
    assert fresh_rounds(config) == 0 and fresh_rounds(test_config) == test_config["rollout"]["rounds"]


def test_the_item_choice_reruns_only_what_reads_it(test_config):
    on_seed = deep_merge(test_config, {"dpo": {"items": "seed"}})
    variants = {"main": test_config, "v": on_seed}
    assert canonical(variants, "v", "train_sft") == "main"
    assert canonical(variants, "v", "dpo_sample") == "v"
    fresh = deep_merge(test_config, {"rollout": {"items": "seed"}})
    assert canonical({"main": test_config, "r": fresh}, "r", "ingest") == "r", "the split reserves no questions"
