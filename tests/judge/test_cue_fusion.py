"""The verdict cue continued from the first pass's KV cache (hf backend, fused) vs a second generate call on the
continued conversation (two-pass, every other backend), on the tiny model.

Both paths condition the continuation on the same token ids: the fused path rolls its cache back to the longest
common prefix with the two-pass path's encoding of `text.rstrip() + cue` and feeds the rest. So greedy
continuations must be equal (up to float rounding, which the tiny model does not hit here); sampled ones use a
different random stream and are only required to be deterministic for a seed."""

import pytest

from judgeflow.generation import Completion, Continuation, GenerationBackend, SamplingParams
from judgeflow.generation.hf import HFBackend, _common_prefix
from judgeflow.judge.judging import CUE_TOKENS, prompts_for, sample_judgments

CUE = "\nVerdict: [["
CRITIQUE_POOL = ["pairwise_critique_en", "step_level_critique_en", "ref_verification_critique_en",
                 "ref_free_verification_critique_en", "single_rating_critique_en"]


def _prompts():
    base = {"split": "seed", "source": "s", "domain": "math", "question": "What is 2 + 2?"}
    items = [
        {**base, "id": "p1", "task_type": "pairwise", "chosen": "It is 4, since 2 + 2 = 4.", "rejected": "5"},
        {**base, "id": "p2", "task_type": "pairwise", "chosen": "4",
         "rejected": "It is 5, I think. Let me add: two plus two is five."},
        {**base, "id": "s1", "task_type": "step_level", "steps": ["2 + 2 = 5", "5 = 5"], "label": 1},
        {**base, "id": "r1", "task_type": "ref_verification", "response": "4", "reference": "4", "label": "yes"},
        {**base, "id": "f1", "task_type": "ref_free_verification", "response": "5", "label": "no"},
    ]
    return prompts_for(items, CRITIQUE_POOL, seed=0)  # 7 prompts of 4 lengths (144-239 tokens)


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    return HFBackend(tiny_model_dir, batch_size=4, progress=False)  # 7 prompts: two batches of mixed lengths


def _two_pass(backend, conversations, first, cue, params):
    continued = [c + [{"role": "assistant", "content": comps[0].text.rstrip() + cue}]
                 for c, comps in zip(conversations, first)]
    return continued, [comps[0] for comps in backend.generate(continued, params.with_(max_new_tokens=CUE_TOKENS,
                                                                                       seed=params.seed + 1))]


@pytest.mark.parametrize("cue", [CUE, "s [["])
def test_greedy_fused_continuation_equals_the_two_pass_one(backend, cue):
    """Every row continued (when=None), rows ending by EOS and by length, over a sweep of lengths that makes some
    rows' cached tail differ from the two-pass tokens (trailing whitespace, BPE merges with the cue): then the
    cache is rolled back. Same first completions as a plain call, and the continuation equals the second call's
    completion exactly (text, num_tokens, finish_reason)."""
    conversations = [p["messages"] for p in _prompts()]
    reasons, rolled_back = set(), 0
    for max_new_tokens in range(4, 15):
        params = SamplingParams(max_new_tokens=max_new_tokens)
        plain = backend.generate(conversations, params)
        fused = backend.generate(conversations, params, continuation=Continuation(cue, max_new_tokens=CUE_TOKENS))
        assert [[(c.text, c.num_tokens, c.finish_reason) for c in comps] for comps in fused] == \
               [[(c.text, c.num_tokens, c.finish_reason) for c in comps] for comps in plain]
        continued, second = _two_pass(backend, conversations, plain, cue, params)
        assert [comps[0].continuation for comps in fused] == second, f"max_new_tokens={max_new_tokens}"
        for conversation, comps, target in zip(conversations, plain, continued):
            reasons.add(comps[0].finish_reason)
            generated = backend.tokenizer.encode(comps[0].text, add_special_tokens=False)
            context = backend.encode(conversation) + generated
            rolled_back += _common_prefix(context, backend.encode(target)) < len(context)
    assert reasons == {"stop", "length"}
    assert rolled_back, "the sweep should hit a tail that re-tokenises differently"


def test_rows_with_a_verdict_are_not_continued(backend):
    prompts = _prompts()
    conversations = [p["messages"] for p in prompts]
    params = SamplingParams(max_new_tokens=12)
    plain = backend.generate(conversations, params)
    asked = []
    spec = Continuation(CUE, max_new_tokens=CUE_TOKENS, stop="]]",
                        when=lambda i, text: asked.append((i, text)) or "[[" not in text)
    fused = backend.generate(conversations, params, continuation=spec)
    assert sorted(asked) == sorted((i, comps[0].text) for i, comps in enumerate(plain))
    has_tag = ["[[" in comps[0].text for comps in plain]
    assert any(has_tag) and not all(has_tag)
    for tagged, comps, plain_comps in zip(has_tag, fused, plain):
        assert (comps[0].continuation is None) == tagged
        assert (comps[0].text, comps[0].num_tokens) == (plain_comps[0].text, plain_comps[0].num_tokens)


class _Hidden(GenerationBackend):
    """The hf backend without the capability: sample_judgments must take the two-pass path."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def generate(self, conversations, params):
        self.calls.append(params)
        return self.inner.generate(conversations, params)


def test_sample_judgments_fused_matches_two_pass_in_one_call(backend, monkeypatch):
    prompts = _prompts()
    params = SamplingParams(max_new_tokens=12, seed=3)
    two_pass_backend = _Hidden(backend)
    two_pass = sample_judgments(two_pass_backend, prompts, params, CUE, "m")
    assert len(two_pass_backend.calls) == 2
    calls = []
    original = backend.generate
    monkeypatch.setattr(backend, "generate", lambda *a, **k: calls.append(k) or original(*a, **k))
    fused = sample_judgments(backend, prompts, params, CUE, "m")
    assert len(calls) == 1 and calls[0]["continuation"].stop == "]]"
    assert {j["cue_used"] for j in fused} == {True, False}
    for f, t in zip(fused, two_pass):
        assert (f["text"], f["verdict"], f["parse_error"], f["correct"], f["cue_used"]) == \
               (t["text"], t["verdict"], t["parse_error"], t["correct"], t["cue_used"])
        # the fused continuation stops at ']]'; the two-pass one always runs CUE_TOKENS (or to an end token)
        assert f["num_tokens"] <= t["num_tokens"]
        if not f["cue_used"]:
            assert f["num_tokens"] == t["num_tokens"]
    uncued = [j for j in fused if not j["cue_used"]]
    plain = backend.generate([p["messages"] for p in prompts], params)
    texts = {(p["item_id"], p["order"]): comps[0].text for p, comps in zip(prompts, plain)}
    assert all(j["text"] == texts[(j["item_id"], j["order"])] for j in uncued), "judgments with a verdict untouched"


def test_sampled_fused_runs_are_deterministic_for_a_seed(backend):
    conversations = [p["messages"] for p in _prompts()]
    params = SamplingParams(n=2, temperature=1.0, top_p=0.95, max_new_tokens=10, seed=5)
    spec = Continuation(CUE, max_new_tokens=CUE_TOKENS, stop="]]")
    once = backend.generate(conversations, params, continuation=spec)
    assert backend.generate(conversations, params, continuation=spec) == once
    assert all(c.continuation is not None and 1 <= c.continuation.num_tokens <= CUE_TOKENS
               for comps in once for c in comps)
    # the first pass draws from the same random stream as a plain call, so its samples are the plain call's
    plain = backend.generate(conversations, params)
    assert [[c.text for c in comps] for comps in once] == [[c.text for c in comps] for comps in plain]
    other = backend.generate(conversations, params.with_(seed=6), continuation=spec)
    assert [[c.text for c in comps] for comps in other] != [[c.text for c in comps] for comps in once]


class _Scripted(GenerationBackend):
    def __init__(self, *replies, fused=False):
        self.replies, self.calls, self.supports_fused_continuation = list(replies), [], fused

    def generate(self, conversations, params, **kwargs):
        self.calls.append((conversations, params, kwargs))
        texts = self.replies[len(self.calls) - 1]
        spec = kwargs.get("continuation")
        out = []
        for i, text in enumerate(texts[:len(conversations)]):
            continuation = None
            if spec is not None and spec.when(i, text):
                continuation = Completion("B]] and more", 2, "length")
            out.append([Completion(text, 3, "stop", continuation)])
        return out


def test_backends_without_the_capability_get_the_two_pass_path():
    prompts = _prompts()[:2]
    params = SamplingParams(max_new_tokens=50, seed=3)
    scripted = _Scripted(["A is right. [[A]]", "B is right. "], ["B]] and more"])
    two_pass = sample_judgments(scripted, prompts, params, CUE, "m")
    assert len(scripted.calls) == 2 and scripted.calls[0][2] == {} and scripted.calls[1][2] == {}
    continued, second_params, _ = scripted.calls[1]
    assert continued == [prompts[1]["messages"] + [{"role": "assistant", "content": "B is right." + CUE}]]
    assert (second_params.n, second_params.max_new_tokens, second_params.seed) == (1, CUE_TOKENS, 4)

    fused_backend = _Scripted(["A is right. [[A]]", "B is right. "], fused=True)
    fused = sample_judgments(fused_backend, prompts, params, CUE, "m")
    assert len(fused_backend.calls) == 1
    spec = fused_backend.calls[0][2]["continuation"]
    assert (spec.cue, spec.max_new_tokens, spec.stop) == (CUE, CUE_TOKENS, "]]")
    for f, t in zip(fused, two_pass):
        assert (f["text"], f["verdict"], f["cue_used"]) == (t["text"], t["verdict"], t["cue_used"])
    assert fused[1]["text"] == "B is right.\nVerdict: [[B]]" and fused[1]["num_tokens"] == 3 + 2
    no_cue = _Scripted(["B is right. "], fused=True)
    assert not sample_judgments(no_cue, prompts[:1], params, None, "m")[0]["cue_used"]
    assert no_cue.calls[0][2] == {}, "no cue: a plain call"
