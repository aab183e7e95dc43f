"""Judges: the twin CNN (joint classes, save/load, learning a known rule, the train-judges stage on a hand-made
run folder) and the real transformers judges on tiny random configs loaded through from_pretrained."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from semvideo.config import load_config
from semvideo.io import InputError
from semvideo.metrics.judges import (
    TwinJudge,
    TwinJudgeRunner,
    appearance_frame_indices,
    attribute_accuracy,
    attribute_marginals,
    judge_attribute_accuracy,
    judge_labels,
    load_clip_embedder,
    load_judges,
    load_videomae_judge,
    load_vit_judge,
    train_twin_judge,
)
from semvideo.stages.judges import export_twin_judges, run_judges
from tests.conftest import ROOT

COLOURS = {"red": (230, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 230)}
STRIPES = ["vertical", "horizontal", "none"]


def _tiny_judge(n_frames=1, size=8):
    torch.manual_seed(0)
    return TwinJudge(head_names=["colour", "stripes"], class_names=[list(COLOURS), STRIPES],
                     n_frames=n_frames, image_size=size, channels=(8, 8, 8), feature_dim=16)


def _solid_clips(labels, t=2, size=8):
    """Clips whose colour is label[:, 0] with dark vertical / horizontal stripes for label[:, 1] = 0 / 1
    (a rule that holds wherever one looks: the judges pool over positions)."""
    clips = np.zeros((len(labels), t, size, size, 3), np.uint8)
    for i, (c, stripes) in enumerate(labels):
        clips[i] = list(COLOURS.values())[c]
        if stripes == 0:
            clips[i, :, :, (np.arange(size) // 2) % 2 == 0] //= 4
        elif stripes == 1:
            clips[i, :, (np.arange(size) // 2) % 2 == 0] //= 4
    return clips


def test_joint_classes_are_the_product_of_heads():
    model = _tiny_judge()
    assert model.n_classes == 9 and model.class_labels()[:4] == ["red/vertical", "red/horizontal", "red/none",
                                                            "green/vertical"]
    logits = [torch.randn(5, 3), torch.randn(5, 3)]
    joint = model.joint_log_probs(logits).exp()
    torch.testing.assert_close(joint.sum(1), torch.ones(5))
    # joint (i, j) = p_colour(i) · p_stripes(j), flattened like np.ravel_multi_index
    expected = logits[0].softmax(1)[:, 1] * logits[1].softmax(1)[:, 2]
    torch.testing.assert_close(joint[:, np.ravel_multi_index((1, 2), (3, 3))], expected)


def test_twin_judge_learns_a_known_rule_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.stack([rng.integers(0, 3, 96), rng.integers(0, 3, 96)], axis=1)
    clips = _solid_clips(labels)
    model = _tiny_judge()
    losses = train_twin_judge(model, clips, labels, epochs=30, batch_size=16, lr=1e-2, seed=0,
                              augmentation=False, colour_swap=0.0)
    assert losses[-1] < losses[0] / 3
    runner = TwinJudgeRunner(model)
    probs = runner(clips[:, 0])
    assert probs.shape == (96, 9) and np.allclose(probs.sum(1), 1, atol=1e-5)
    joint = np.ravel_multi_index(tuple(labels.T), (3, 3))
    assert (probs.argmax(1) == joint).mean() > 0.9
    model.save_pretrained(tmp_path / "judge")
    again = TwinJudgeRunner(TwinJudge.from_pretrained(tmp_path / "judge"))
    np.testing.assert_allclose(again(clips[:, 0]), probs, rtol=1e-5, atol=1e-6)
    assert again.features(clips[:, 0]).shape == (96, 16)
    again.batch_size = 40  # several batches: the one-pass readout concatenates both outputs alike
    both = again.probabilities_and_features(clips[:, 0])
    np.testing.assert_array_equal(both[0], again(clips[:, 0]))
    np.testing.assert_array_equal(both[1], again.features(clips[:, 0]))
    with pytest.raises(ValueError, match=r"image judge\) expects uint8 frames \(B, H, W, 3\)"):
        runner(clips)


def test_training_is_bit_repeatable():
    labels = np.array([[0, 0], [1, 1], [2, 2], [0, 2]] * 4)
    clips = _solid_clips(labels, t=3)
    runs = []
    for _ in range(2):
        model = _tiny_judge(n_frames=3)
        train_twin_judge(model, clips, labels, epochs=2, batch_size=8, lr=1e-2, seed=3)
        runs.append(TwinJudgeRunner(model)(clips))
    np.testing.assert_array_equal(*runs)


def test_appearance_stream_sees_its_frames_one_at_a_time(tmp_path):
    """The video judge's appearance half is the mean of per-frame features over the picked frames (first and
    last of 4): blind to their order and to the frames it does not pick, unlike the early-fusion half."""
    assert appearance_frame_indices(4, 2) == [0, 3] and appearance_frame_indices(6, 3) == [0, 2, 5]
    torch.manual_seed(0)
    model = TwinJudge(head_names=["colour", "stripes"], class_names=[list(COLOURS), STRIPES], n_frames=4,
                      image_size=8, channels=(8, 8, 8), feature_dim=16, appearance_frames=2).eval()
    clips = torch.rand(5, 4, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        base = model.encode(clips)
        swapped = model.encode(clips[:, [3, 1, 2, 0]])
        middle = model.encode(torch.cat([clips[:, :1], -clips[:, 1:2], clips[:, 2:]], dim=1))
        first = model.encode(torch.cat([-clips[:, :1], clips[:, 1:]], dim=1))
    assert base.shape == (5, 32)
    torch.testing.assert_close(swapped[:, 16:], base[:, 16:])
    torch.testing.assert_close(middle[:, 16:], base[:, 16:])
    assert not torch.allclose(swapped[:, :16], base[:, :16]) and not torch.allclose(middle[:, :16], base[:, :16])
    assert not torch.allclose(first[:, 16:], base[:, 16:])
    model.save_pretrained(tmp_path / "video")
    again = TwinJudge.from_pretrained(tmp_path / "video").eval()
    assert again.config.appearance_frames == 2
    with torch.no_grad():
        torch.testing.assert_close(again.encode(clips), base)
    with pytest.raises(ValueError, match="appearance_frames must be between 0 and n_frames = 4"):
        TwinJudge(head_names=["colour"], class_names=[list(COLOURS)], n_frames=4, appearance_frames=5)


def test_video_judge_with_appearance_stream_learns_a_known_rule():
    rng = np.random.default_rng(1)
    labels = np.stack([rng.integers(0, 3, 96), rng.integers(0, 3, 96)], axis=1)
    clips = _solid_clips(labels, t=4)
    torch.manual_seed(0)
    model = TwinJudge(head_names=["colour", "stripes"], class_names=[list(COLOURS), STRIPES], n_frames=4,
                      image_size=8, channels=(8, 8, 8), feature_dim=16, appearance_frames=2)
    train_twin_judge(model, clips, labels, epochs=30, batch_size=16, lr=1e-2, seed=0, augmentation=False,
                     colour_swap=0.0)
    joint = np.ravel_multi_index(tuple(labels.T), (3, 3))
    assert (TwinJudgeRunner(model)(clips).argmax(1) == joint).mean() > 0.9


def test_attribute_accuracy_marginalises_by_hand():
    # heads of 2 and 3 values; joint classes in np.ravel_multi_index order (a, b) → 3a + b
    probs = np.zeros((3, 6))
    probs[0, [1, 3, 5]] = 0.4, 0.35, 0.25  # (0,1) is the joint argmax, but the marginals say a = 1 (0.6), b = 1
    probs[1, 2] = 1.0  # (0, 2)
    probs[2, 4] = 1.0  # (1, 1)
    labels = np.array([[1, 1], [0, 0], [0, 1]])
    np.testing.assert_allclose(attribute_accuracy(probs, labels, (2, 3)), [2 / 3, 2 / 3])
    first, second = attribute_marginals(probs, (2, 3))
    np.testing.assert_allclose(first[0], [0.4, 0.6])
    np.testing.assert_allclose(second[0], [0.35, 0.4, 0.25])
    with pytest.raises(ValueError, match="do not match heads"):
        attribute_accuracy(probs, labels, (2, 2))


def _shape_clips(rng, n, size=32, left=True):
    """Clips of an 8×8 object on one of two backgrounds: colour (3 values) × shape (full / hollow / plus),
    drawn in the left (left=True) or right half of the frame, clear of its edges; background = label 2."""
    labels = np.stack([rng.integers(0, 3, n), rng.integers(0, 3, n), rng.integers(0, 2, n)], axis=1)
    clips = np.zeros((n, 1, size, size, 3), np.uint8)
    masks = [np.ones((4, 4), bool), np.pad(np.zeros((2, 2), bool), 1, constant_values=True),
             np.array([[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]], bool)]
    for i, (colour, shape, ground) in enumerate(labels):
        clips[i] = (60, 60, 60) if ground == 0 else (200, 200, 160)
        x = rng.integers(2, size // 2 - 8) if left else rng.integers(size // 2 + 2, size - 10)
        y = rng.integers(2, size - 10)
        patch = clips[i, 0, y:y + 8, x:x + 8]
        patch[np.kron(masks[shape], np.ones((2, 2), bool))] = list(COLOURS.values())[colour]
    return clips, labels


def test_judge_generalises_to_unseen_positions_and_reports_tidy_accuracy():
    """Trained on objects in the left of the frame only, the judge reads colour, shape and background of objects
    on the right: it must recognise what an object is, not remember where the training objects were."""
    rng = np.random.default_rng(0)
    train, train_labels = _shape_clips(rng, 240)
    test, test_labels = _shape_clips(rng, 60, left=False)
    torch.manual_seed(0)
    model = TwinJudge(head_names=["colour", "category", "background"],
                      class_names=[list(COLOURS), ["full", "hollow", "plus"], ["dark", "light"]],
                      image_size=32, channels=(16, 16, 32), feature_dim=32)
    train_twin_judge(model, train, train_labels, epochs=50, batch_size=32, lr=1e-2, seed=0,
                     augmentation=False, colour_swap=0.0)
    table = judge_attribute_accuracy(TwinJudgeRunner(model), test, test_labels, "test")
    assert list(table.columns) == ["judge", "attribute", "split", "accuracy", "chance", "majority", "n"]
    assert table["attribute"].tolist() == ["colour", "category", "background"]
    assert (table["judge"] == "image").all() and (table["n"] == 60).all()
    np.testing.assert_allclose(table["chance"], [1 / 3, 1 / 3, 1 / 2])
    np.testing.assert_allclose(table["majority"], [np.bincount(test_labels[:, j]).max() / 60 for j in range(3)])
    assert (table["accuracy"] >= 0.9).all(), table


def test_colour_swap_keeps_shapes_and_marks_the_swapped_clips():
    from semvideo.metrics.judges import swap_colours

    x = torch.linspace(-1, 1, 4 * 2 * 3 * 5 * 5).reshape(4, 2, 3, 5, 5)
    generator = torch.Generator().manual_seed(0)
    out, swapped = swap_colours(x, generator, 1.0)
    assert swapped.all()
    for i in range(4):  # every clip's channels are a (signed) permutation of its own, the same in every frame
        sign = torch.sign(out[i, 0, :, 0, 0] * x[i, 0, :, 0, 0].sum())
        got = sorted(torch.abs(out[i]).transpose(0, 1).reshape(3, -1).tolist())
        assert got == sorted(torch.abs(x[i]).transpose(0, 1).reshape(3, -1).tolist()) and sign.abs().sum() > 0
    none, mask = swap_colours(x, generator, 0.0)
    assert not mask.any() and torch.equal(none, x)


def test_labels_from_scene_graphs():
    graphs = {"seg1_0000": {"colour": "blue", "stripes": "none"},
              "seg1_0001": {"colour": "red", "stripes": "vertical"}}
    values = [list(COLOURS), STRIPES]
    labels = judge_labels(graphs, ["seg1_0001", "seg1_0000"], ["colour", "stripes"], values)
    np.testing.assert_array_equal(labels, [[0, 0], [2, 2]])
    with pytest.raises(KeyError, match="seg9_0000 has no scene graph"):
        judge_labels(graphs, ["seg9_0000"], ["colour"], values[:1])


def _hand_made_run(tmp_path):
    """A run folder with the prepare/generate-twin artefacts the judges read: 2 frames of 16×16 per clip."""
    cfg = load_config(ROOT / "config" / "smoke.yaml", name="judges", fmri={"frames_per_clip": 2, "frame_size": 16},
                      paths={"results": str(tmp_path), "figures": str(tmp_path / "fig")},
                      eval={"judge_epochs": 1, "judge_size": 8, "judge_batch_size": 32, "n_ways": [2, 50]})
    rng = np.random.default_rng(0)
    rows, graphs = [], []
    for split, segment, n in (("train", "seg1", 40), ("test", "test1", 8)):
        for i in range(n):
            clip_id = f"{segment}_{i:04d}"
            rows.append({"clip_id": clip_id, "split": split, "segment": segment, "clip_index": i,
                         "onset_s": 2.0 * i, "shot_id": f"{segment}_s{i:03d}"})
            graphs.append({"clip_id": clip_id, "category": str(rng.choice(cfg.twin.categories)),
                           "colour": str(rng.choice(cfg.twin.colours)),
                           "background": str(rng.choice(cfg.twin.backgrounds)),
                           "motion": str(rng.choice(cfg.twin.motions))})
    root = tmp_path / "judges"
    (root / "data").mkdir(parents=True)
    (root / "raw" / "truth").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "data" / "clips.csv", index=False)
    (root / "raw" / "truth" / "scene_graphs.jsonl").write_text("".join(json.dumps(g) + "\n" for g in graphs))
    for split, n in (("train", 40), ("test", 8)):
        np.save(root / "data" / f"frames_{split}.npy", rng.integers(0, 256, (n, 2, 16, 16, 3), dtype=np.uint8))
    return cfg


def test_run_judges_writes_models_and_held_out_accuracy(tmp_path):
    cfg = _hand_made_run(tmp_path)
    run_judges(cfg)
    summary = json.loads((tmp_path / "judges" / "judges" / "summary.json").read_text())
    assert summary["image"]["test"]["n_classes"] == 12 * 8 * 4
    assert summary["video"]["test"]["n_classes"] == 12 * 9
    assert summary["image"]["test"]["n_samples"] == 16 and summary["video"]["test"]["n_samples"] == 8
    judges = load_judges(cfg)
    clips = np.load(tmp_path / "judges" / "data" / "frames_test.npy")
    assert judges.image(clips[:, 0]).shape == (8, 384)
    assert judges.video(clips).shape == (8, 108)
    assert judges.vifi.features(clips).shape[0] == judges.clip.features(clips[:, 0]).shape[0] == 8


def test_too_few_classes_and_missing_judges_are_explained(tmp_path):
    cfg = _hand_made_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="train-judges"):
        load_judges(cfg)
    few = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"image_judge_attributes": ["colour"]})})
    with pytest.raises(ValueError, match="8 classes, too few for 50-way"):
        run_judges(few)


def test_pretrained_twin_judges_are_loaded_checked_and_measured_instead_of_trained(tmp_path):
    """eval.twin_judges: the judges of another run are copied in unchanged and measured on this run's clips; a
    folder whose judges do not fit this world (classes, frames, size) fails in one line naming it."""
    donor = _hand_made_run(tmp_path / "donor")
    run_judges(donor)
    shipped = tmp_path / "shipped"
    export_twin_judges(tmp_path / "donor" / "judges" / "judges", shipped)
    cfg = _hand_made_run(tmp_path / "run")
    cfg = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"twin_judges": str(shipped)})})
    run_judges(cfg)
    summary = json.loads((tmp_path / "run" / "judges" / "judges" / "summary.json").read_text())
    assert summary["image"]["pretrained"] == str(shipped) and "train_seconds" not in summary["image"]
    clips = np.load(tmp_path / "run" / "judges" / "data" / "frames_test.npy")
    np.testing.assert_array_equal(load_judges(cfg).video(clips), load_judges(donor).video(clips))
    assert not (tmp_path / "run" / "judges" / "judges" / "ckpt").exists()  # nothing was trained
    other_world = cfg.model_copy(update={"fmri": cfg.fmri.model_copy(update={"frames_per_clip": 3})})
    with pytest.raises(InputError, match=r"video: judges .* with 2 frames .* this run needs .* 3 frames"):
        run_judges(other_world)
    missing = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"twin_judges": str(tmp_path / "none")})})
    with pytest.raises(InputError, match="no twin judge here"):
        run_judges(missing)


def _save_tiny_hf(tmp_path):
    """The GPU smoke check's tiny ViT / VideoMAE / CLIP judges, with a ViT preprocessor config to read back."""
    from semvideo.gpu_smoke import save_tiny_judges

    torch.manual_seed(0)
    save_tiny_judges(tmp_path / "vit", tmp_path / "videomae", tmp_path / "clip")
    (tmp_path / "vit" / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.1] * 3,
                                                                           "image_std": [0.2] * 3}))


def test_real_judges_through_from_pretrained(tmp_path):
    _save_tiny_hf(tmp_path)
    clips = np.random.default_rng(0).integers(0, 256, (3, 4, 20, 20, 3), dtype=np.uint8)
    vit = load_vit_judge(str(tmp_path / "vit"))
    assert torch.allclose(vit.mean.flatten(), torch.tensor([0.1] * 3))  # read from preprocessor_config.json
    probs = vit(clips[:, 0])
    assert probs.shape == (3, 60) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert vit.features(clips[:, 0]).shape == (3, 16)
    mae = load_videomae_judge(str(tmp_path / "videomae"), n_frames=4)  # saved with 16 frames, run on 4
    assert mae(clips).shape == (3, 60) and mae.features(clips).shape == (3, 16)
    clip = load_clip_embedder(str(tmp_path / "clip"))
    frames = clip.features(clips.reshape(12, 20, 20, 3))
    assert frames.shape == (12, 8)
    np.testing.assert_allclose(clip.features(clips), frames.reshape(3, 4, 8).mean(1), rtol=1e-5, atol=1e-6)


def test_load_judges_real_world_needs_ids(tmp_path):
    _save_tiny_hf(tmp_path)
    cfg = load_config(ROOT / "config" / "smoke.yaml", fmri={"frames_per_clip": 4},
                      eval={"image_judge": str(tmp_path / "vit"), "video_judge": str(tmp_path / "videomae"),
                            "clip_model": str(tmp_path / "clip")})
    judges = load_judges(cfg)
    assert judges.vifi is judges.clip and judges.video.kind == "video"
    no_clip = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"clip_model": None})})
    with pytest.raises(ValueError, match="needs pretrained judges: set eval.clip_model"):
        load_judges(no_clip)


def test_a_second_training_with_the_same_checkpoints_reloads_instead_of_repeating(tmp_path):
    labels = np.array([[0, 0], [1, 1], [2, 2], [0, 2]] * 4)
    clips = _solid_clips(labels, t=3)
    first, again = _tiny_judge(n_frames=3), _tiny_judge(n_frames=3)
    losses = train_twin_judge(first, clips, labels, epochs=2, batch_size=8, lr=1e-2, seed=3, ckpt_dir=tmp_path)
    assert (tmp_path / "epoch_0001.pt").exists() and len(losses) == 2
    assert train_twin_judge(again, clips, labels, epochs=2, batch_size=8, lr=1e-2, seed=3, ckpt_dir=tmp_path) == losses
    np.testing.assert_array_equal(TwinJudgeRunner(again)(clips), TwinJudgeRunner(first)(clips))
