"""The synthetic twin: scene graphs, rendering, the brain simulator and the CC2017-layout files it writes."""

import json

import numpy as np
import pandas as pd
import pytest

from semvideo.config import TwinConfig
from semvideo.data.cc2017 import first_stimulus_volume, layout_for, run_path, stimulus_path
from semvideo.data.cifti import read_dtseries
from semvideo.data.preprocess import detrend_zscore, repeat_reliability
from semvideo.data.synthetic.brain import FAMILIES, lag_shift
from semvideo.data.synthetic.render import SHAPES, background, render_clip
from semvideo.data.synthetic.world import sample_segment, time_reversed
from semvideo.data.video import clip_frame_indices, read_video

SCHEMA = {"clip_id", "split", "segment", "clip_index", "shot_id", "clip_in_shot", "category", "colour",
          "background", "motion", "speed", "size", "start", "end", "scale_start", "scale_end", "angle_start",
          "angle_end"}


def _clips(n=400, seed=0):
    return sample_segment(np.random.default_rng(seed), TwinConfig(), "seg1", "train", n, 2.0)


def test_scene_graphs_follow_the_schema_and_cover_the_world():
    twin, clips = TwinConfig(), _clips()
    assert len(twin.categories) >= 12 and set(SHAPES) >= set(twin.categories)
    assert all(SCHEMA <= set(c) for c in clips)
    assert [c["clip_index"] for c in clips] == list(range(len(clips)))
    assert {c["motion"] for c in clips} == set(twin.motions)
    assert {c["category"] for c in clips} == set(twin.categories)
    shots = pd.DataFrame(clips).groupby("shot_id")
    assert shots.size().between(*twin.shot_clips).all()
    assert (shots[["category", "colour", "background", "motion"]].nunique() == 1).all().all()


def test_world_is_repeatable_with_its_seed():
    assert _clips(seed=3) == _clips(seed=3)
    assert _clips(seed=3) != _clips(seed=4)


def _centroid_and_area(frames, bg):
    mask = np.abs(frames.astype(int) - bg.astype(int)).sum(-1) > 60
    ys, xs = np.nonzero(mask[0]), None
    out = []
    for m in mask:
        ys, xs = np.nonzero(m)
        out.append((xs.mean(), ys.mean(), m.sum()))
    return np.array(out)


@pytest.mark.parametrize("motion,check", [
    ("left", lambda s: s[-1, 0] < s[0, 0] - 2), ("right", lambda s: s[-1, 0] > s[0, 0] + 2),
    ("up", lambda s: s[-1, 1] < s[0, 1] - 2), ("down", lambda s: s[-1, 1] > s[0, 1] + 2),
    ("approach", lambda s: s[-1, 2] > 1.3 * s[0, 2]), ("recede", lambda s: s[-1, 2] < 0.8 * s[0, 2]),
    ("static", lambda s: np.ptp(s, axis=0).max() < 1e-9),
])
def test_renders_move_as_the_scene_graph_says(motion, check):
    graph = {"category": "box", "colour": "red", "background": "sky", "motion": motion, "speed": "fast",
             "base_size": 0.3, "origin": [0.5, 0.5], "angle0": 0.0, "shot_time": 0.0}
    bg = background("sky", 64, np.random.default_rng(0))
    stats = _centroid_and_area(render_clip(graph, 60, 30, 64, bg), bg)
    assert check(stats)


@pytest.mark.parametrize("motion", ["left", "up"])
def test_a_translation_played_backwards_is_the_world_clip_of_its_time_reversed_graph(motion):
    # the second clip of a shot (shot time 2 s), so the origin of the reversed path is not the clip's start
    graph = {"clip_id": "seg1_0001", "category": "box", "colour": "red", "background": "sky", "motion": motion,
             "speed": "fast", "base_size": 0.3, "origin": [0.55, 0.6], "angle0": 0.0, "shot_time": 2.0,
             "start": [0.27, 0.6], "end": [0.13, 0.6]}
    bg = background("sky", 64, np.random.default_rng(0))
    sampled = clip_frame_indices(0, 2.0, 30, 6)  # the 3-fps frames the priors train on
    reverse = time_reversed(graph, 2.0)
    forward = render_clip(graph, 60, 30, 64, bg)[sampled]
    backward = render_clip(reverse, 60, 30, 64, bg)[sampled]
    assert reverse["motion"] == {"left": "right", "up": "down"}[motion] and reverse["clip_id"] == "seg1_0001~reversed"
    assert (reverse["start"], reverse["end"]) == (graph["end"], graph["start"])
    assert np.abs(backward.astype(int) - forward[::-1].astype(int)).max() <= 1
    assert np.abs(backward.astype(int) - forward.astype(int)).mean() > 1  # the clip does move
    assert all(time_reversed(graph | {"motion": m}, 2.0) is None for m in ("rotate", "approach", "bounce", "static"))


def test_lag_shift_places_the_response_peak_at_the_configured_lag():
    # Sampling at j·TR + shift must put the peak of a one-TR stimulus response lag/TR volumes later.
    assert lag_shift(2.0, 4.0) == pytest.approx(lag_shift(2.0, 6.0) + 2.0)
    assert 0 < lag_shift(2.0, 4.0) < 4


def test_written_files_follow_the_cc2017_layout(tiny_twin):
    cfg, paths = tiny_twin
    layout = layout_for(cfg)
    for segment, split in layout.segments:
        video = read_video(stimulus_path(paths.raw, segment))
        assert video.shape == (cfg.twin.segment_seconds * cfg.twin.fps, cfg.twin.frame_size, cfg.twin.frame_size, 3)
        for rep in range(1, layout.repeats[split] + 1):
            data, grayordinates, tr = read_dtseries(run_path(paths.raw, "subject1", segment, rep))
            assert first_stimulus_volume(len(data), layout.n_trs) in (1, 2) and tr == cfg.twin.tr
    truth = pd.read_csv(paths.raw / "truth" / "subject1_vertices.csv")
    np.testing.assert_array_equal(grayordinates, truth["grayordinate"])
    assert set(truth["family"]) == {*FAMILIES, "noise"}
    graphs = [json.loads(line) for line in (paths.raw / "truth" / "scene_graphs.jsonl").read_text().splitlines()]
    assert len(graphs) == len(layout.segments) * layout.n_trs


def _stimulus_locked(paths, layout, segment, rep):
    data, _, _ = read_dtseries(run_path(paths.raw, "subject1", segment, rep))
    first = first_stimulus_volume(len(data), layout.n_trs)
    return detrend_zscore(data)[first:]


def test_lag_recovered_by_cross_correlation_equals_the_simulated_lag(tiny_twin):
    cfg, paths = tiny_twin
    layout = layout_for(cfg)
    truth = pd.read_csv(paths.raw / "truth" / "subject1_vertices.csv")
    weights = np.load(paths.raw / "truth" / "subject1_weights.npz")["motion"]
    features = np.load(paths.raw / "truth" / "features_seg1.npz")["motion"]
    motion = truth["family"].to_numpy() == "motion"
    drive = features @ weights  # (n_TR, V_motion) the stimulus feature that drives each motion vertex
    bold = _stimulus_locked(paths, layout, "seg1", 1)[:, motion]
    responsive = truth.loc[motion, "responsive"].to_numpy()
    n = layout.n_trs
    driven = np.flatnonzero(responsive & (drive.std(0) > 0))  # some tunings (e.g. rotation) may not occur in seg1
    score = [np.mean([np.corrcoef(drive[:n, j], bold[lag:lag + n, j])[0, 1] for j in driven])
             for lag in range(5)]
    assert int(np.argmax(score)) == round(cfg.twin.lag_seconds / cfg.twin.tr)


def test_responsive_vertices_are_reliable_and_noise_vertices_are_not(tiny_twin):
    cfg, paths = tiny_twin
    layout = layout_for(cfg)
    truth = pd.read_csv(paths.raw / "truth" / "subject1_vertices.csv")
    a, b = (_stimulus_locked(paths, layout, "seg2", rep)[: layout.n_trs] for rep in (1, 2))
    r = repeat_reliability(a, b)
    assert r[truth["responsive"]].mean() > 0.5
    assert abs(r[truth["family"] == "noise"].mean()) < 0.1


def test_segments_rendered_in_two_workers_write_the_same_twin(tiny_twin, tmp_path):
    from semvideo.data.synthetic import generate_twin
    from semvideo.paths import RunPaths

    cfg, paths = tiny_twin
    parallel = cfg.model_copy(update={"workers": 2, "paths": cfg.paths.model_copy(
        update={"results": str(tmp_path / "results"), "figures": str(tmp_path / "figures")})})
    generate_twin(parallel)
    again = RunPaths.from_config(parallel).raw
    files = sorted(p.relative_to(paths.raw) for p in paths.raw.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        if name.suffix == ".npz":  # compressed archives carry write times; compare their arrays
            with np.load(paths.raw / name) as first, np.load(again / name) as second:
                assert all(np.array_equal(first[k], second[k]) for k in first), name
        else:
            assert (paths.raw / name).read_bytes() == (again / name).read_bytes(), name
