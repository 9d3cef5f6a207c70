"""The `openai` generation backend: any OpenAI-compatible chat-completions server.

`vllm serve`, `transformers serve` and hosted APIs (an API teacher, as RISE used GPT-4o) speak the same
/v1/chat/completions protocol. Requests run concurrently, are retried with exponential backoff on
connection errors, 429 and 5xx, and every answer is cached on disk under a key made from the request
itself, so a rerun does not pay twice. One request per sample (n=1 with a per-sample seed), because some
servers ignore `n`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

from judgeflow.core.records import read_json, write_json
from judgeflow.generation import Completion, GenerationBackend, SamplingParams

log = logging.getLogger(__name__)

ENDPOINT_FILE = "endpoint.json"
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class EndpointError(RuntimeError):
    pass


def write_endpoint(folder: str | Path, base_url: str, served_model: str, api_key_env: str | None) -> None:
    """What the `openai` model source materialises instead of weights: where the model is served."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ENDPOINT_FILE).write_text(json.dumps(
        {"base_url": base_url.rstrip("/"), "served_model": served_model, "api_key_env": api_key_env}, indent=2) + "\n")


class OpenAIBackend(GenerationBackend):
    def __init__(self, base_url: str, served_model: str, api_key_env: str | None = None, concurrency: int = 8,
                 max_retries: int = 5, timeout_s: float = 300, cache_dir: str | Path | None = None,
                 progress: bool = True):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.served_model = served_model
        self.api_key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and not self.api_key:
            raise EndpointError(f"environment variable {api_key_env} (the API key for {base_url}) is not set")
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.progress = progress
        self.stats = {"requests": 0, "cache_hits": 0, "retries": 0}

    @classmethod
    def from_endpoint_file(cls, path: str | Path, settings: dict) -> "OpenAIBackend":
        endpoint = json.loads(Path(path).read_text())
        return cls(endpoint["base_url"], endpoint["served_model"], endpoint.get("api_key_env"),
                   concurrency=settings["concurrency"], max_retries=settings["max_retries"],
                   timeout_s=settings["timeout_s"], cache_dir=settings["cache_dir"])

    def request_body(self, conversation: list[dict], params: SamplingParams, sample: int) -> dict:
        body = {"model": self.served_model, "messages": conversation, "n": 1,
                "max_tokens": params.max_new_tokens, "seed": params.seed * 100003 + sample}
        if params.temperature > 0:
            body.update(temperature=params.temperature, top_p=params.top_p)
        else:
            body.update(temperature=0.0)
        if conversation[-1]["role"] == "assistant":
            # vLLM's chat-completions extension: continue the final assistant message instead of answering
            body.update(add_generation_prompt=False, continue_final_message=True)
        return body

    def _cache_path(self, body: dict) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(json.dumps([self.url, body], sort_keys=True).encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.json"

    def _post(self, body: dict) -> dict:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.max_retries + 1):
            try:
                request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:500]
                if exc.code not in RETRY_STATUS or attempt == self.max_retries:
                    raise EndpointError(f"POST {self.url}: HTTP {exc.code}: {detail}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    raise EndpointError(f"POST {self.url}: {exc} (after {attempt + 1} attempts)") from exc
            self.stats["retries"] += 1
            delay = min(60.0, 0.5 * 2**attempt) * (0.5 + random.random())
            log.warning("request to %s failed (attempt %d), retrying in %.1fs", self.url, attempt + 1, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _complete(self, body: dict) -> Completion:
        path = self._cache_path(body)
        if path is not None and path.exists():
            self.stats["cache_hits"] += 1
            return Completion(**read_json(path))
        self.stats["requests"] += 1
        response = self._post(body)
        try:
            choice = response["choices"][0]
            text = choice["message"]["content"] or ""
            tokens = response.get("usage", {}).get("completion_tokens")
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError(f"POST {self.url}: unexpected response {str(response)[:300]}") from exc
        completion = Completion(text=text, num_tokens=int(tokens) if tokens is not None else len(text.split()),
                                finish_reason="length" if choice.get("finish_reason") == "length" else "stop")
        if path is not None:
            write_json(path, completion.__dict__)
        return completion

    def generate(self, conversations: list[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        bodies = [self.request_body(c, params, k) for c in conversations for k in range(params.n)]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            flat = list(tqdm(pool.map(self._complete, bodies), total=len(bodies), desc="generate", unit="req",
                             disable=not self.progress))
        out = [flat[i * params.n:(i + 1) * params.n] for i in range(len(conversations))]
        if params.temperature > 0 and params.n > 1 and all(len({c.text for c in comps}) == 1 for comps in out):
            log.warning("every prompt got %d identical samples at temperature %s: the server may be ignoring "
                        "the sampling parameters", params.n, params.temperature)
        return out
