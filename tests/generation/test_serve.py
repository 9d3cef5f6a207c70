"""The openai backend against a real OpenAI-compatible server: `transformers serve` on the tiny model."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from judgeflow.generation import SamplingParams
from judgeflow.generation.openai import OpenAIBackend
from judgeflow.judge.judging import prompts_for, sample_judgments

pytestmark = pytest.mark.serve


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_model_dir):
    port = _free_port()
    cli = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), tiny_model_dir],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("transformers serve did not answer /health within 180 s")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    proc.wait(timeout=30)


def test_openai_backend_against_transformers_serve(served, tiny_model_dir, tmp_path):
    backend = OpenAIBackend(served, tiny_model_dir, concurrency=2, cache_dir=tmp_path, progress=False)
    conversations = [[{"role": "user", "content": "Ava has 3 coins. How many coins does Ava have now?"}],
                     [{"role": "user", "content": "Ben has 5 books. How many books does Ben have?"}]]
    start = time.perf_counter()
    out = backend.generate(conversations, SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=12, seed=1))
    first = time.perf_counter() - start
    assert [len(c) for c in out] == [2, 2]
    for completion in (c for comps in out for c in comps):
        assert isinstance(completion.text, str) and completion.text
        assert 1 <= completion.num_tokens <= 12 and completion.finish_reason in ("stop", "length")
    assert backend.stats["requests"] == 4
    start = time.perf_counter()
    again = OpenAIBackend(served, tiny_model_dir, cache_dir=tmp_path, progress=False)
    assert again.generate(conversations, SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=12,
                                                        seed=1)) == out
    assert again.stats == {"requests": 0, "cache_hits": 4, "retries": 0}
    print(f"4 requests: {first:.2f}s; from cache: {time.perf_counter() - start:.3f}s")


def test_judgments_through_the_server_are_parsed(served, tiny_model_dir):
    backend = OpenAIBackend(served, tiny_model_dir, progress=False)
    item = {"id": "i1", "task_type": "pairwise", "question": "What is 2 + 2?", "chosen": "4", "rejected": "5"}
    prompts = prompts_for([item], ["pairwise_critique_en"], seed=0, orders=("original",))
    judgments = sample_judgments(backend, prompts, SamplingParams(max_new_tokens=24), None, "served")
    assert len(judgments) == 1 and judgments[0]["model"] == "served" and judgments[0]["task_type"] == "pairwise"
    assert judgments[0]["verdict"] in ("A", "B", None) and judgments[0]["num_tokens"] >= 1
