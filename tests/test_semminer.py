"""SemMiner: prompts, the two-stage chain, the 20-word rein, the cache, the oracle, blip and hf backends, and
the Table 4–5 statistics."""

import json

import numpy as np
import pytest

from semvideo.semminer.backends.blip import BlipStyleCaptioner
from semvideo.semminer.backends.oracle import MOTION_WORDS, OracleCaptioner, subject_of
from semvideo.semminer.cache import CaptionCache
from semvideo.semminer.chain import ClipInput, limit_words, run_chain, run_single
from semvideo.semminer.prompts import PROMPTS, prompt_hash, render_prompt


def _graph(motion="left", **kw):
    graph = {"clip_id": "seg1_0000", "category": "star", "colour": "red", "background": "grass",
             "motion": motion, "speed": "fast", "size": 0.4, "start": [0.7, 0.5], "end": [0.3, 0.5],
             "scale_start": 1.0, "scale_end": 1.0}
    return graph | kw


def _clips(n=5, motion="left"):
    return [ClipInput(f"seg1_{i:04d}", _graph(motion, clip_id=f"seg1_{i:04d}")) for i in range(n)]


class Recorder:
    """A captioner that records what the chain sends it."""

    name, model_id = "recorder", "none"

    def __init__(self):
        self.calls = []

    def generate(self, level, prompts, clips, basics):
        self.calls.append((level, prompts, basics))
        if level == "basic":
            return [" ".join(["word"] * 30) + f" {c.clip_id}" for c in clips]
        return [f"{level} of [{b}]" for b in basics]


def test_stage_two_receives_stage_one_output(tmp_path):
    recorder = Recorder()
    captions = run_chain(recorder, _clips(3), CaptionCache(tmp_path / "c.jsonl"), max_basic_words=20)
    levels = [level for level, _, _ in recorder.calls]
    assert levels == ["basic", "anchor", "motion", "holi"]
    for level, prompts, basics in recorder.calls[1:]:
        for prompt, basic, clip_id in zip(prompts, basics, captions):
            assert basic == captions[clip_id]["basic"] and basic in prompt  # C_L = Ψ(P_L, C_basic, V)
            assert captions[clip_id][level] == f"{level} of [{basic}]"


def test_basic_captions_obey_the_20_word_rein(tmp_path):
    captions = run_chain(Recorder(), _clips(2), CaptionCache(tmp_path / "c.jsonl"), max_basic_words=20)
    assert all(len(c["basic"].split()) == 20 for c in captions.values())
    assert limit_words("one two three", 20) == "one two three"
    assert limit_words("a b c d e, f", 5) == "a b c d e."


def test_prompts_are_versioned_and_stage_two_needs_the_rein():
    assert len({prompt_hash(level) for level in PROMPTS}) == len(PROMPTS)
    assert "moves left" in render_prompt("motion", "A star moves left.").replace("A star ", "")
    with pytest.raises(ValueError, match="C_basic"):
        render_prompt("anchor")


def test_cache_resumes_after_a_kill_without_recomputing(tmp_path):
    path = tmp_path / "c.jsonl"
    first = Recorder()
    done = run_chain(first, _clips(4), CaptionCache(path))
    with open(path, "a") as handle:  # a kill in the middle of a write leaves half a line
        handle.write('{"clip_id": "seg1_0009", "lev')
    second = Recorder()
    with pytest.warns(UserWarning, match="incomplete last line"):
        cache = CaptionCache(path)
    again = run_chain(second, _clips(4), cache)
    assert again == done and second.calls == []  # everything came from the cache
    third = Recorder()
    run_chain(third, _clips(6), CaptionCache(path))
    assert all(len(prompts) == 2 for _, prompts, _ in third.calls)  # only the two new clips are captioned


def test_corrupt_cache_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "c.jsonl"
    run_chain(Recorder(), _clips(1), CaptionCache(path))
    lines = path.read_text().splitlines()
    lines[1] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"c\.jsonl:2: corrupt"):
        CaptionCache(path)


def test_a_new_prompt_version_misses_the_cache(tmp_path, monkeypatch):
    path = tmp_path / "c.jsonl"
    run_chain(Recorder(), _clips(1), CaptionCache(path))
    monkeypatch.setitem(PROMPTS, "holi", PROMPTS["holi"] + " Be brief.")
    recorder = Recorder()
    run_chain(recorder, _clips(1), CaptionCache(path))
    assert [level for level, _, _ in recorder.calls] == ["holi"]


DIRECTION = {"left": "to the left", "right": "to the right", "up": "upward", "down": "downward",
             "approach": "approaches", "recede": "recedes", "rotate": "spins", "bounce": "bounces"}


@pytest.mark.parametrize("motion", ["left", "right", "up", "down", "approach", "recede", "rotate", "bounce"])
def test_oracle_mentions_the_scene_at_the_right_level(tmp_path, motion):
    captions = run_chain(OracleCaptioner(), _clips(3, motion), CaptionCache(tmp_path / "c.jsonl"))
    for c in captions.values():
        assert len(c["basic"].split()) <= 20
        for level in ("basic", "anchor", "motion", "holi"):
            assert "red" in c[level] and "star" in c[level]
        assert "grass" in c["anchor"] and "grass" in c["holi"]
        assert "right side" in c["anchor"] and "medium-sized" in c["anchor"]  # start (0.7, 0.5), size 0.4
        assert not any(verb in c["anchor"] for verb in MOTION_WORDS)  # the first frame is static
        assert DIRECTION[motion] in c["motion"] and "fast" in c["motion"]


def test_oracle_static_clips_have_no_motion_words(tmp_path):
    captions = run_chain(OracleCaptioner(), _clips(3, "static"), CaptionCache(tmp_path / "c.jsonl"))
    for c in captions.values():
        assert "still" in c["motion"]
        assert not any(verb in c[level] for level in ("anchor", "motion", "holi") for verb in MOTION_WORDS)


def test_oracle_stage_two_reuses_the_rein():
    clip = _clips(1)[0]
    text = OracleCaptioner().generate("holi", ["p"], [clip], ["A scarlet star quickly moves to the left."])[0]
    assert "the scarlet star" in text  # the subject came from C_basic, not from the scene graph
    assert subject_of("A red star rests against the sky.") == "the red star"


def test_blip_baseline_is_short_and_static(tmp_path):
    captions = run_single(BlipStyleCaptioner(), _clips(5), CaptionCache(tmp_path / "c.jsonl"))
    assert all(len(c.split()) <= 10 and "star" in c for c in captions.values())
    assert not any(verb in c for c in captions.values() for verb in MOTION_WORDS)


def test_run_semminer_on_the_tiny_twin_follows_clips_csv_and_the_truth(tiny_twin):
    import pandas as pd

    from semvideo.semminer import CAPTION_LEVELS, load_captions, run_semminer

    cfg, paths = tiny_twin
    run_semminer(cfg)
    table = load_captions(cfg)
    assert table["clip_id"].tolist() == pd.read_csv(paths.data / "clips.csv")["clip_id"].tolist()
    assert list(table.columns) == ["clip_id", *CAPTION_LEVELS]
    graphs = {g["clip_id"]: g for g in map(json.loads, (paths.raw / "truth" / "scene_graphs.jsonl").read_text()
                                           .splitlines())}
    for _, row in table.iterrows():
        graph = graphs[row["clip_id"]]
        assert graph["colour"] in row["holi"] and graph["colour"] in row["blip"]
        assert ("still" in row["motion"]) == (graph["motion"] == "static")
    lines = (paths.captions / "captions.jsonl").read_text().count("\n")
    run_semminer(cfg)  # a second run is served from the cache: nothing is appended
    assert (paths.captions / "captions.jsonl").read_text().count("\n") == lines == 5 * len(table)


# --- the hf backend on a tiny random LLaVA -------------------------------------------------------------------

def _tiny_llava(folder):
    """A tiny random LLaVA saved like a hub folder (the GPU smoke check's builder, seeded here)."""
    import torch

    from semvideo.gpu_smoke import save_tiny_llava

    torch.manual_seed(0)
    return save_tiny_llava(folder)


def test_hf_backend_runs_the_chain_on_a_tiny_model(tmp_path):
    from semvideo.semminer.backends.hf import HFCaptioner, sample_frames

    frames = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(sample_frames(frames, 4), frames[[0, 2, 3, 5]])  # first and last included
    assert len(sample_frames(frames, 1)) == 1 and len(sample_frames(frames, 10)) == 6
    captioner = HFCaptioner(_tiny_llava(tmp_path / "llava"), n_frames=2, max_new_tokens=4)
    clips = [ClipInput(f"test1_{i:04d}", None, np.roll(frames, i, axis=1)) for i in range(3)]
    cache = CaptionCache(tmp_path / "c.jsonl")
    captions = run_chain(captioner, clips, cache, batch_size=2)
    assert set(captions) == {c.clip_id for c in clips}
    assert all(isinstance(t, str) and len(t.split()) <= 20 for c in captions.values() for t in c.values())
    again = run_chain(captioner, clips, CaptionCache(tmp_path / "c.jsonl"), batch_size=3)
    assert again == captions  # greedy decoding, and the cache key includes the model id
    with pytest.raises(ValueError, match="no frames"):
        captioner.generate("basic", ["p"], [ClipInput("seg1_0000")], [None])


# --- Tables 4 and 5 -----------------------------------------------------------------------------------------

def test_token_table_puts_the_papers_numbers_beside_ours():
    import pandas as pd

    from semvideo.semminer.stats import token_table

    captions = pd.DataFrame({"blip": ["a b", "a b c d"], "anchor": ["a"] * 2, "motion": ["a b c"] * 2,
                             "holi": ["x y z w v"] * 2})
    table = token_table(captions, lambda texts: np.array([len(t.split()) for t in texts]), "whitespace")
    assert table.loc["BLIP-style", "ours: mean"] == 3 and table.loc["C_holi", "ours: mean"] == 5
    assert table.loc["C_motion", "paper (CC2017, BLIP-2 / SemMiner)"] == 41.1


def test_similarity_metrics_match_hand_computed_values():
    from semvideo.semminer.stats import bleu, pair_cosine, rouge

    hyp, ref = ["a red ball moves", "a red ball moves"], ["a red ball rolls left", "a red ball moves"]
    scores = rouge(hyp, ref)
    np.testing.assert_allclose(scores["ROUGE-1"], [2 * 0.75 * 0.6 / 1.35, 1.0])  # P = 3/4, R = 3/5
    b1 = bleu(hyp, ref, 1)  # 3 of 4 unigrams match; brevity penalty exp(1 - 5/4)
    np.testing.assert_allclose(b1, [0.75 * np.exp(1 - 5 / 4), 1.0], atol=1e-6)
    assert bleu(["x y z w"], ["a b c d"], 4)[0] < 0.05
    np.testing.assert_allclose(pair_cosine(np.array([[1.0, 0], [1, 1]]), np.array([[2.0, 0], [-1, 1]])), [1, 0],
                               atol=1e-12)


@pytest.mark.skipif(__import__("shutil").which("java") is None, reason="METEOR runs a Java jar")
def test_meteor_ranks_identical_over_paraphrase_over_unrelated():
    from semvideo.semminer.stats import meteor

    ref = "a red star moves to the left over the grass"
    same, para, other = meteor([ref, "a red star travels left above the grass", "blue box on sand at night"],
                               [ref] * 3)
    assert same > 0.9 > para > other >= 0
