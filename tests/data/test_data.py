import json
import re

import pytest

from judgeflow.data import loaders
from judgeflow.data import questions as data

from conftest import REPO, SHARED_DATA

FIXTURES = REPO / "tests" / "fixtures"


@pytest.mark.parametrize("text,expected,method", [
    ("so 12 + 7 = 19. The answer is 19.", "19", "marker"),
    ("Step 1: 3*4 = 12\n#### 1,200", "1200", "marker"),
    ("the result is \\boxed{42}", "42", "marker"),
    ("The answer is 5. Wait, the answer is 6.", "6", "marker"),
    ("I think it is 3 and then 14.0", "14", "last_number"),
    ("The answer is $7.50.", "7.5", "marker"),
    ("I cannot tell.", None, "none"),
])
def test_extract_answer(text, expected, method):
    assert data.extract_answer(text) == (expected, method)


def test_grade():
    assert data.grade("12 + 2 = 14. The answer is 14.", "14")["correct"]
    assert not data.grade("The answer is 13.", "14")["correct"]
    assert data.grade("no idea", "14") == {"extracted": None, "method": "none", "correct": False}


def test_gsm8k_real_files_load_with_their_counts():
    for name, rows in [("train.jsonl", 7473), ("test.jsonl", 1319)]:
        records, rejects = loaders.load_gsm8k(SHARED_DATA / "gsm8k" / name, "gsm8k")
        assert (len(records), len(rejects)) == (rows, 0)
    first = records[0]
    raw = json.loads((SHARED_DATA / "gsm8k" / "test.jsonl").read_text().splitlines()[0])
    assert first["question"] == raw["question"].strip()
    assert first["answer"] == raw["answer"].split("####")[-1].strip().replace(",", "")
    assert "<<" not in first["solution"] and first["solution"].endswith(f"The answer is {first['answer']}.")


def test_gsm8k_malformed_rows_go_to_rejects_with_file_line_field():
    records, rejects = loaders.load_gsm8k(FIXTURES / "gsm8k_malformed.jsonl", "fx")
    assert [r["answer"] for r in records] == ["5", "1250"]
    assert [r["id"] for r in records] == ["fx-000001", "fx-000006"]
    assert [r["line"] for r in rejects] == [2, 3, 4]
    assert "gsm8k_malformed.jsonl:2: field 'answer' has no '#### <number>'" in rejects[0]["reason"]
    assert "not valid JSON" in rejects[1]["reason"]
    assert "field 'question' is missing" in rejects[2]["reason"]


def _replay(solution: str) -> int:
    value = None
    for a, op, b, result in re.findall(r"Step \d+: (\d+) ([-+*]) (\d+) = (\d+)", solution):
        a, b, result = int(a), int(b), int(result)
        assert value is None or a == value, "each step continues from the previous result"
        assert result == {"+": a + b, "-": a - b, "*": a * b}[op]
        value = result
    return value


def test_synthetic_arithmetic_is_exact_and_seeded():
    first = data.synthetic_arithmetic("arith", 50, 2, 4, 20, seed=7)
    assert first == data.synthetic_arithmetic("arith", 50, 2, 4, 20, seed=7)
    assert first != data.synthetic_arithmetic("arith", 50, 2, 4, 20, seed=8)
    assert len({r["id"] for r in first}) == 50
    for record in first:
        steps = record["solution"].count("Step ")
        assert 2 <= steps <= 4
        assert _replay(record["solution"]) == int(record["answer"]) >= 0
        assert data.grade(record["solution"], record["answer"])["correct"]


def test_assign_splits_disjoint_and_sized():
    records = data.synthetic_arithmetic("a", 30, 1, 2, 9, seed=1)
    out = data.assign_splits(records, {"benchmark": 5, "seed": 10, "rollout_batch": 4}, rounds=2, seed=3)
    counts = {s: sum(r["split"] == s for r in out) for s in {r["split"] for r in out}}
    assert counts == {"benchmark": 5, "seed": 10, "rollout": 8, "unused": 7}
    assert len({r["id"] for r in out}) == 30
    assert out == data.assign_splits(list(reversed(records)), {"benchmark": 5, "seed": 10, "rollout_batch": 4}, 2, 3)
    with pytest.raises(ValueError, match="need 31 questions"):
        data.assign_splits(records, {"benchmark": 5, "seed": 10, "rollout_batch": 8}, rounds=2, seed=3)


def test_ingest_stage_writes_rejects_and_counts_them(tmp_path, test_config):
    from judgeflow.core.config import select
    from judgeflow.stages.data import ingest

    config = select(test_config, "seed", "data", "rollout.rounds", "rollout.items")
    config["data"]["sources"] = [
        {"name": "fx", "type": "gsm8k", "path": str(FIXTURES / "gsm8k_malformed.jsonl")},
        {"name": "arith", "type": "synthetic_arithmetic", "num_questions": 30, "min_steps": 1, "max_steps": 2,
         "max_operand": 9},
    ]
    config["data"]["splits"] = {"benchmark": 4, "seed": 10, "rollout_batch": 3}
    out = tmp_path / "questions.jsonl"
    ingest(config=config, records=str(out), rejects=str(tmp_path / "rejects.jsonl"),
           summary=str(tmp_path / "summary.json"), log=str(tmp_path / "log"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert summary["items_in"] == 35 and summary["items_out"] == 32
    assert summary["rejected"] == {"malformed_row": 3} and len(rejects) == 3
    assert summary["per_source"] == {"fx": {"in": 5, "out": 2, "rejected": 3},
                                     "arith": {"in": 30, "out": 30, "rejected": 0}}
    assert all(r["file"].endswith("gsm8k_malformed.jsonl") and r["raw"] for r in rejects)
    assert summary["per_split"]["unused"] == 32 - 4 - 10 - 2 * 3


# ---------------------------------------------------------------------------------------------------------
# Records files: no NaN written, no .tmp left behind, undecodable lines named (issue 13)


def test_write_jsonl_refuses_nan_and_leaves_no_tmp(tmp_path):
    from judgeflow.core.records import write_jsonl

    out = tmp_path / "rows.jsonl"
    with pytest.raises(ValueError, match=r"rows.jsonl: row 2 \(id b\): field 'score.mean' is nan"):
        write_jsonl(out, [{"id": "a", "score": 1.0}, {"id": "b", "score": {"mean": float("nan")}}])
    assert list(tmp_path.iterdir()) == []
    out.write_text("kept\n")
    with pytest.raises(ValueError, match="non-finite"):
        write_jsonl(out, [{"id": "a", "x": float("inf")}])
    assert out.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]


def test_write_jsonl_and_write_json_clean_up_when_the_rows_fail(tmp_path):
    from judgeflow.core.records import write_json, write_jsonl

    def rows():
        yield {"id": "a"}
        raise RuntimeError("the stage failed half way")

    with pytest.raises(RuntimeError):
        write_jsonl(tmp_path / "rows.jsonl", rows())
    with pytest.raises(UnicodeEncodeError):
        write_jsonl(tmp_path / "rows.jsonl", [{"id": "a", "text": "lone \ud800"}])
    with pytest.raises(TypeError):
        write_json(tmp_path / "summary.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_read_jsonl_names_the_line_of_an_undecodable_byte_or_a_nan(tmp_path):
    from judgeflow.core.records import RecordError, read_jsonl

    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xff"}\n')
    with pytest.raises(RecordError, match=r"rows.jsonl:2: not valid UTF-8 \(byte 0xff"):
        read_jsonl(path)
    path.write_bytes(b'{"a": 1}\n{"a": {"b": [1, NaN]}}\n')
    with pytest.raises(RecordError, match=r"rows.jsonl:2: field 'a.b\[1\]' is NaN"):
        read_jsonl(path)
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n{"a": 2}')
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


def test_ingest_counts_each_reject_code_and_writes_them_all(tmp_path, test_config):
    from judgeflow.core.config import select
    from judgeflow.stages.data import ingest

    source = tmp_path / "bad.jsonl"
    source.write_bytes(b'{"question": "One?", "answer": "#### 1"}\n'
                       b'{"question": "Tw\xff?", "answer": "#### 2"}\n'
                       b'{"question": "Three \\ud83d?", "answer": "#### 3"}\n'
                       b'{"question": "Four?", "answer": "#### 4", "x": NaN}\n'
                       b'{"question": "Fi\\u0000ve?", "answer": "#### 5"}\n'
                       b'{"question": "Six?", "answer": "no number"}\n')
    config = select(test_config, "seed", "data", "rollout.rounds", "rollout.items")
    config["data"]["sources"] = [
        {"name": "fx", "type": "gsm8k", "path": str(source)},
        {"name": "arith", "type": "synthetic_arithmetic", "num_questions": 30, "min_steps": 1, "max_steps": 2,
         "max_operand": 9},
    ]
    config["data"]["splits"] = {"benchmark": 4, "seed": 10, "rollout_batch": 3}
    ingest(config=config, records=str(tmp_path / "q.jsonl"), rejects=str(tmp_path / "rejects.jsonl"),
           summary=str(tmp_path / "summary.json"), log=str(tmp_path / "log"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert summary["rejected"] == {"encoding": 2, "malformed_row": 1, "non_finite_number": 1, "nul_byte": 1}
    assert [(r["line"], r["code"]) for r in rejects] == [(2, "encoding"), (3, "encoding"), (4, "non_finite_number"),
                                                       (5, "nul_byte"), (6, "malformed_row")]
    assert summary["per_source"]["fx"] == {"in": 6, "out": 1, "rejected": 5}
    assert not list(tmp_path.glob("*.tmp"))


def test_ingest_of_an_empty_source_fails_naming_it_and_leaves_no_files(tmp_path, test_config):
    from judgeflow.core.config import select
    from judgeflow.stages.data import ingest

    (tmp_path / "empty.jsonl").write_text("")
    config = select(test_config, "seed", "data", "rollout.rounds", "rollout.items")
    config["data"]["sources"] = [{"name": "fx", "type": "gsm8k", "path": str(tmp_path / "empty.jsonl")}]
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="data source 'fx' .*empty.jsonl has no rows"):
        ingest(config=config, records=str(out / "q.jsonl"), rejects=str(out / "rejects.jsonl"),
               summary=str(out / "summary.json"), log=str(out / "log"))
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == ["log"]


def test_prepare_benchmark_counts_each_reject_code(tmp_path, test_config):
    from judgeflow.core.config import select
    from judgeflow.stages.data import prepare_benchmark

    def pair(chosen, rejected, id):
        return json.dumps({"prompt": "Q?", "chosen": chosen, "rejected": rejected, "subset": "x", "id": id}) + "\n"

    path = tmp_path / "rb.jsonl"
    path.write_text(pair("A.", "B.", 1) + pair("", " ", 2) + pair("C.", "D.", 1) + '{"prompt": "Q?"}\n')
    config = select(test_config, "seed", "evaluation.benchmarks")
    config["evaluation"]["benchmarks"] = [{"name": "rb", "type": "rewardbench", "path": str(path)}]
    prepare_benchmark(config=config, benchmark="rb", benchmark_items=str(tmp_path / "items.jsonl"),
                      rejects=str(tmp_path / "rejects.jsonl"), summary=str(tmp_path / "summary.json"),
                      log=str(tmp_path / "log"))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rejected"] == {"duplicate_id": 1, "empty_field": 1, "malformed_row": 1}
    assert (summary["items_in"], summary["items_out"]) == (4, 1)
