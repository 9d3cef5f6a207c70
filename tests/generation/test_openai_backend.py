"""The OpenAI-compatible backend against a local HTTP server that records what it is sent and fails on
purpose; tests/generation/test_serve.py runs it against a real `transformers serve`."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.generation.openai import EndpointError, OpenAIBackend


class Recorder(BaseHTTPRequestHandler):
    bodies: list = []
    failures_left = 0
    status = 503

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append((self.path, body, self.headers.get("Authorization")))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(type(self).status)
            self.end_headers()
            self.wfile.write(b'{"error": "busy"}')
            return
        last = body["messages"][-1]["content"]
        text = f"echo {last} seed={body['seed']} T={body['temperature']}"
        payload = {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                   "usage": {"completion_tokens": 7}}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.bodies, Recorder.failures_left, Recorder.status = [], 0, 503
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


CONVS = [[{"role": "user", "content": "q1"}], [{"role": "user", "content": "q2"}],
         [{"role": "user", "content": "q3"}, {"role": "assistant", "content": "Verdict: [["}]]


def test_records_requests_and_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", "sk-test")
    backend = OpenAIBackend(server, "teacher-model", api_key_env="JUDGE_KEY", concurrency=4, cache_dir=tmp_path,
                            progress=False)
    params = SamplingParams(n=2, temperature=0.7, top_p=0.9, max_new_tokens=32, seed=3)
    out = backend.generate(CONVS, params)
    assert [len(c) for c in out] == [2, 2, 2]
    assert out[0][0].text.startswith("echo q1") and out[0][0].num_tokens == 7 and out[0][0].finish_reason == "stop"
    assert out[0][0].text != out[0][1].text, "each sample is its own request with its own seed"
    assert backend.stats == {"requests": 6, "cache_hits": 0, "retries": 0}
    paths = {p for p, _, _ in Recorder.bodies}
    assert paths == {"/v1/chat/completions"}
    bodies = [b for _, b, _ in Recorder.bodies]
    assert all(b["n"] == 1 and b["model"] == "teacher-model" and b["max_tokens"] == 32 for b in bodies)
    assert {auth for _, _, auth in Recorder.bodies} == {"Bearer sk-test"}
    continued = [b for b in bodies if b["messages"][-1]["role"] == "assistant"]
    assert len(continued) == 2 and all(b["continue_final_message"] and not b["add_generation_prompt"]
                                       for b in continued)
    again = OpenAIBackend(server, "teacher-model", api_key_env="JUDGE_KEY", cache_dir=tmp_path, progress=False)
    assert again.generate(CONVS, params) == out
    assert again.stats == {"requests": 0, "cache_hits": 6, "retries": 0}
    assert len(Recorder.bodies) == 6, "a rerun does not pay twice"
    other = again.generate(CONVS[:1], params.with_(n=1, temperature=0.0))
    assert again.stats["requests"] == 1 and "T=0.0" in other[0][0].text


def test_retries_with_backoff_then_gives_a_clear_error(server, monkeypatch):
    monkeypatch.setattr("judgeflow.generation.openai.time.sleep", lambda s: None)
    Recorder.failures_left = 2
    backend = OpenAIBackend(server, "m", max_retries=3, progress=False)
    out = backend.generate(CONVS[:1], SamplingParams(max_new_tokens=4))
    assert out[0][0].text.startswith("echo q1") and backend.stats["retries"] == 2
    Recorder.failures_left = 10
    with pytest.raises(EndpointError, match="HTTP 503"):
        OpenAIBackend(server, "m", max_retries=1, progress=False).generate(CONVS[:1], SamplingParams())
    Recorder.failures_left, Recorder.status = 1, 400
    with pytest.raises(EndpointError, match="HTTP 400"):
        OpenAIBackend(server, "m", max_retries=5, progress=False).generate(CONVS[:1], SamplingParams())


def test_missing_key_and_unreachable_server(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with pytest.raises(EndpointError, match="NOPE_KEY"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="NOPE_KEY")
    monkeypatch.setattr("judgeflow.generation.openai.time.sleep", lambda s: None)
    with pytest.raises(EndpointError, match="after 2 attempts"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", max_retries=1, timeout_s=2, progress=False).generate(
            CONVS[:1], SamplingParams())


def test_make_backend_picks_the_endpoint_of_an_openai_model(server, tmp_path, test_config):
    from judgeflow.models.sources import prepare_model

    facts = prepare_model({"source": "openai", "base_url": server, "served_model": "served-name"},
                          tmp_path / "teacher", test_config)
    assert facts["served_model"] == "served-name" and (tmp_path / "teacher" / "endpoint.json").exists()
    backend = make_backend(str(tmp_path / "teacher"), {**test_config["generation"],
                                                      "openai": {**test_config["generation"]["openai"],
                                                                 "cache_dir": None}})
    assert isinstance(backend, OpenAIBackend) and backend.served_model == "served-name"
    assert backend.generate(CONVS[:1], SamplingParams())[0][0].text.startswith("echo q1")
