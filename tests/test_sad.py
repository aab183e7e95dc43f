"""SAD: losses against hand-computed values, MixCo, shapes per subject, overfitting, save/load, resume, stage."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from semvideo.config import load_config
from semvideo.io import read_json
from semvideo.models.sad import (
    SemanticAlignmentDecoder,
    mixco,
    mse_loss,
    refine_loss,
    sad_step,
    soft_clip_loss,
)
from semvideo.stages.sad import caption_content_table, run_sad
from semvideo.train import fit

TOKENS, DIM = 5, 8


def _model(**extra):
    torch.manual_seed(0)
    kwargs = {"subjects": ["a", "b"], "n_voxels": [10, 7], "hidden_dim": 32, "n_tokens": TOKENS, "embed_dim": DIM,
                  "prior_layers": 1, "prior_heads": 2, "prior_head_dim": 8, "prior_timesteps": 10}
    return SemanticAlignmentDecoder(**{**kwargs, **extra})


def _batch(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    bold = torch.randn(n, 10, generator=g)
    subject = torch.arange(n) % 2
    bold[subject == 1, 7:] = 0  # subject b has 7 voxels; its rows are zero-padded
    return bold, subject, torch.randn(n, TOKENS, DIM, generator=g)


def _step(**kw):
    def step(model, batch, generator):
        return sad_step(model, batch, generator, **{"weights": (0.1, 0.5), "tau": 0.5, "alpha": 0.15, **kw})
    return step


def test_soft_clip_3x3_by_hand():
    eye = torch.eye(3)
    # soft labels = softmax(I/τ) rows with τ = 1, prediction distribution the same → loss = its entropy
    expected = math.log(math.e + 2) - math.e / (math.e + 2)
    assert soft_clip_loss(eye, eye, tau=1.0).item() == pytest.approx(expected, rel=1e-6)
    # a prediction pointing at sample 2 for every row: log-softmax row = [0, 0, 1] − log(e + 2)
    pred = torch.tensor([[0.0, 0.0, 5.0]] * 3)
    labels = torch.softmax(eye, dim=1)
    log_q = torch.tensor([0.0, 0.0, 1.0]) - math.log(math.e + 2)
    assert soft_clip_loss(pred, eye, tau=1.0).item() == pytest.approx(-(labels * log_q).sum(1).mean().item())


def test_soft_clip_with_one_hot_labels_is_clip_loss():
    targets = torch.linalg.qr(torch.randn(6, 6))[0][:4]  # 4 orthonormal targets → one-hot labels at small τ
    pred = torch.randn(4, 6)
    tau = 0.01
    clip = F.cross_entropy(F.normalize(pred, dim=1) @ targets.T / tau, torch.arange(4))
    assert soft_clip_loss(pred, targets, tau).item() == pytest.approx(clip.item(), rel=1e-5)


def test_mse_is_mean_square():
    assert mse_loss(torch.zeros(2, 3, 4), torch.full((2, 3, 4), 3.0)).item() == 9.0


def test_mixco_keeps_the_convex_combination():
    x = torch.randn(2000, 3)
    mixed, perm, lam = mixco(x, torch.Generator().manual_seed(1), alpha=0.15)
    assert sorted(perm.tolist()) == list(range(2000)) and lam.shape == (2000, 1)
    assert ((lam >= 0) & (lam <= 1)).all()
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x[perm])
    near_ends = ((lam < 0.1) | (lam > 0.9)).float().mean().item()
    assert near_ends > 0.7  # Beta(0.15, 0.15) puts most weight near 0 and 1
    again = mixco(x, torch.Generator().manual_seed(1), alpha=0.15)[0]
    assert torch.equal(mixed, again)


def test_shapes_per_subject_and_padding_is_ignored():
    model = _model().eval()
    bold, subject, _ = _batch()
    out = model(bold, subject)
    assert out.shape == (6, TOKENS, DIM)
    noisy_padding = bold.clone()
    noisy_padding[subject == 1, 7:] = 100.0  # beyond subject b's 7 voxels
    torch.testing.assert_close(model(noisy_padding, subject), out)
    alone = model(bold[subject == 0], subject[subject == 0])  # a batch of one subject gives the same rows
    torch.testing.assert_close(alone, out[subject == 0])
    refined = model.refine(out, num_inference_steps=3, generator=torch.Generator().manual_seed(0))
    assert refined.shape == (6, TOKENS, DIM) and torch.isfinite(refined).all()


def test_an_untrained_refineformer_returns_the_mlp_output():
    model = _model().eval()
    bold, subject, _ = _batch()
    with torch.no_grad():
        cond = model(bold, subject)
        torch.testing.assert_close(model.refine(cond, 3, torch.Generator().manual_seed(0)), cond)


def test_refine_loss_is_zero_for_a_perfect_denoiser():
    model = _model()
    target = torch.randn(4, TOKENS, DIM)
    model.refiner.forward = lambda noised, t, cond: target / model.config.target_scale
    assert refine_loss(model, torch.zeros_like(target), target, torch.Generator()).item() == 0.0


def test_overfits_a_tiny_batch(tmp_path):
    model = _model(dropout=0.0)
    bold, subject, targets = _batch(8)
    fit(model, _step(targets=targets, alpha=0.01), (bold, subject, torch.arange(8)), ckpt_dir=tmp_path,
        epochs=60, batch_size=8, lr=1e-2, seed=0)
    with torch.no_grad():
        assert mse_loss(model(bold, subject), targets).item() < 0.02 * targets.var().item()


def test_save_and_load_give_identical_outputs(tmp_path):
    model = _model().eval()
    bold, subject, _ = _batch()
    model.save_pretrained(tmp_path / "sad")
    assert (tmp_path / "sad" / "diffusion_pytorch_model.safetensors").exists()
    loaded = SemanticAlignmentDecoder.from_pretrained(tmp_path / "sad").eval()
    assert loaded.config.subjects == ["a", "b"]
    with torch.no_grad():
        assert torch.equal(model(bold, subject), loaded(bold, subject))
        outs = [m.refine(m(bold, subject), 3, torch.Generator().manual_seed(4)) for m in (model, loaded)]
    assert torch.equal(*outs)


def test_resume_after_a_kill_is_bit_identical(tmp_path):
    bold, subject, targets = _batch(12)
    data, kw = (bold, subject, torch.arange(12)), {"epochs": 3, "batch_size": 4, "lr": 1e-3, "seed": 2}
    full = _model()
    fit(full, _step(targets=targets), data, ckpt_dir=tmp_path / "full", **kw)
    calls = {"n": 0}

    def dies(model, batch, generator):
        calls["n"] += 1
        if calls["n"] == 5:  # inside epoch 1, after epoch 0's checkpoint
            raise KeyboardInterrupt
        return _step(targets=targets)(model, batch, generator)

    with pytest.raises(KeyboardInterrupt):
        fit(_model(), dies, data, ckpt_dir=tmp_path / "killed", **kw)
    resumed = _model()
    fit(resumed, _step(targets=targets), data, ckpt_dir=tmp_path / "killed", **kw)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def _tiny_run(root, n_train=24, n_test=8):
    """A prepared-data folder + embeddings for two subjects, and a config that trains tiny SADs on it."""
    rng = np.random.default_rng(0)
    data, emb = root / "smoke" / "data", root / "smoke" / "embeddings"
    clips = [("train", i) for i in range(n_train)] + [("test", i) for i in range(n_test)]
    data.mkdir(parents=True)
    pd.DataFrame({"clip_id": [f"{s}_{i:04d}" for s, i in clips], "split": [s for s, _ in clips],
                  "segment": "seg1", "clip_index": [i for _, i in clips], "onset_s": 0.0,
                  "shot_id": 0}).to_csv(data / "clips.csv", index=False)
    latent = {split: rng.normal(size=(n, 3)) for split, n in (("train", n_train), ("test", n_test))}
    mixing = rng.normal(size=(3, TOKENS * DIM))
    for level in ("anchor", "motion", "holi", "blip"):
        for split, z in latent.items():
            emb.mkdir(exist_ok=True)
            np.save(emb / f"{level}_{split}.npy", (z @ mixing).reshape(-1, TOKENS, DIM).astype(np.float32))
    for s, v in (("subject1", 9), ("subject2", 6)):
        (data / s).mkdir()
        weights = rng.normal(size=(3, v))
        for split, z in latent.items():
            np.save(data / s / f"bold_{split}.npy", (z @ weights).astype(np.float32))
    sad = {"hidden_dim": 16, "prior_layers": 1, "prior_heads": 1, "prior_head_dim": 8, "prior_timesteps": 5,
               "prior_sample_steps": 2, "pretrain_epochs": 2, "finetune_epochs": 1, "batch_size": 8, "dropout": 0.0}
    return load_config("config/smoke.yaml", paths={"results": str(root), "figures": str(root / "fig")}, sad=sad)


def test_run_sad_writes_the_contract_and_resumes(tmp_path):
    cfg = _tiny_run(tmp_path)
    run_sad(cfg)
    root = tmp_path / "smoke" / "sad"
    for s in ("subject1", "subject2"):
        for level in ("anchor", "motion", "holi"):
            for kind in ("mlp", "refined"):
                assert np.load(root / "pred" / f"{s}_{level}_{kind}.npy").shape == (8, TOKENS, DIM)
            assert (root / f"{level}_{s}" / "config.json").exists()
        assert (root / "pred" / f"{s}_anchor_mlp_single.npy").exists()
        assert np.load(root / "pred" / f"{s}_blip_refined.npy").shape == (8, TOKENS, DIM)  # single-caption baseline
        assert not (root / "pred" / f"{s}_motion_refined_train.npy").exists()  # MAD trains on the true captions
    done = read_json(root / "pred" / "done.json")
    assert done["chance"]["top1"] == pytest.approx(1 / 8)
    assert set(done["retrieval"]["subject1/anchor/refined/pretrain"]) == {"top1", "top5"}
    log = pd.read_csv(root / "ckpt" / "anchor" / "pretrain" / "losses.csv")
    assert len(log) == 2 * 6 and {"mse", "softclip", "refine", "loss"} <= set(log.columns)  # 48 rows / 8
    assert not list(root.rglob("epoch_*.pt"))  # checkpoints are removed once the models are saved
    before = np.load(root / "pred" / "subject2_holi_refined.npy")
    (root / "pred" / "subject2_holi_refined.npy").unlink()
    run_sad(cfg)  # a rerun loads the saved models and rewrites identical predictions
    np.testing.assert_array_equal(np.load(root / "pred" / "subject2_holi_refined.npy"), before)
    longer = cfg.model_copy(update={"sad": cfg.sad.model_copy(update={"finetune_epochs": 2})})
    run_sad(longer)  # another config: the old models are not reused
    assert len(pd.read_csv(root / "ckpt" / "holi" / "holi_subject2" / "losses.csv")) == 2 * 3


def test_trainings_in_two_workers_give_the_models_of_one_process(tmp_path, one_torch_thread):
    serial = _tiny_run(tmp_path / "serial")
    run_sad(serial)
    parallel = _tiny_run(tmp_path / "parallel").model_copy(update={"workers": 2, "torch_threads": 2})
    run_sad(parallel)  # four levels and two single-subject models, in two one-thread processes
    predictions = sorted((serial.results_dir / "sad" / "pred").glob("*.npy"))
    assert len(predictions) == 2 * 4 * 2 + 2 * 2  # subjects × levels × (mlp, refined) + single-subject anchors
    for path in predictions:
        np.testing.assert_array_equal(np.load(parallel.results_dir / "sad" / "pred" / path.name), np.load(path))
    done = [read_json(run.results_dir / "sad" / "pred" / "done.json")["retrieval"] for run in (serial, parallel)]
    assert done[0] == done[1]
    assert not list((parallel.results_dir / "sad").rglob("epoch_*.pt"))


def test_predicted_semantic_source_decodes_the_training_clips(tmp_path):
    cfg = _tiny_run(tmp_path)
    cfg = cfg.model_copy(update={"mad": cfg.mad.model_copy(update={"semantic_source": "predicted"}),
                                 "sad": cfg.sad.model_copy(update={"baseline_levels": [], "single_subject_levels": []})})
    run_sad(cfg)
    root = tmp_path / "smoke" / "sad" / "pred"
    n_train = len(np.load(tmp_path / "smoke" / "data" / "subject1" / "bold_train.npy"))
    for s in ("subject1", "subject2"):
        train = np.load(root / f"{s}_motion_refined_train.npy")
        assert train.shape == (n_train, TOKENS, DIM) and np.isfinite(train).all()
    assert not (root / "subject1_blip_refined.npy").exists()


def test_missing_embeddings_name_the_fix(tmp_path):
    cfg = _tiny_run(tmp_path)
    (tmp_path / "smoke" / "embeddings" / "anchor_test.npy").unlink()
    with pytest.raises(FileNotFoundError, match="semvideo embed"):
        run_sad(cfg)


def test_caption_content_reads_each_named_attribute_from_the_decoded_embeddings(tmp_path):
    """A hand-made run whose caption embeddings are sums of one random direction per attribute value: the true
    test captions read every attribute back (≥ 0.9); a decoder whose predictions are the truth shrunk 10× towards
    the mean (as MSE shrinks them) reads exactly the same; one that predicts noise reads about chance."""
    import json

    cfg = load_config("smoke", name="content", subjects=["subject1"], twin={"n_subjects": 1},
                      paths={"results": str(tmp_path), "figures": str(tmp_path / "fig")})
    rng = np.random.default_rng(0)
    values = {"category": cfg.twin.categories, "colour": cfg.twin.colours, "background": cfg.twin.backgrounds,
              "motion": cfg.twin.motions, "speed": ["slow", "fast"]}
    directions = {a: {v: rng.standard_normal((8, 16)) for v in vs} for a, vs in values.items()}
    root = tmp_path / "content"
    for folder in ("data", "raw/truth", "embeddings", "sad/pred"):
        (root / folder).mkdir(parents=True)
    rows, graphs, embeddings = [], [], {"train": [], "test": []}
    for split, n in (("train", 240), ("test", 60)):
        for i in range(n):
            graph = {"clip_id": f"{split}_{i:04d}", **{a: str(rng.choice(vs)) for a, vs in values.items()}}
            rows.append({"clip_id": graph["clip_id"], "split": split, "segment": split, "clip_index": i})
            graphs.append(graph)
            embeddings[split].append(sum(directions[a][graph[a]] for a in values))
    pd.DataFrame(rows).to_csv(root / "data" / "clips.csv", index=False)
    (root / "raw" / "truth" / "scene_graphs.jsonl").write_text("".join(json.dumps(g) + "\n" for g in graphs))
    for level in ("anchor", "motion", "holi"):
        for split in ("train", "test"):
            np.save(root / "embeddings" / f"{level}_{split}.npy", np.stack(embeddings[split]))
        mean = np.mean(embeddings["train"], axis=0)
        np.save(root / "sad" / "pred" / f"subject1_{level}_refined.npy", mean + 0.1 * (np.stack(embeddings["test"]) - mean))
        np.save(root / "sad" / "pred" / f"subject1_{level}_mlp.npy", rng.standard_normal((60, 8, 16)))
    table = caption_content_table(cfg).set_index(["level", "attribute", "source"])
    assert len(table) == (3 + 2 + 4) * 3
    truth, shrunk = (table.xs(source, level="source")["accuracy"] for source in ("true captions", "subject1 refined"))
    assert (truth >= 0.9).all() and truth.equals(shrunk)  # the read-out is blind to the shrinkage
    noise = table.xs("subject1 mlp", level="source")
    assert noise["accuracy"].mean() < 0.5 and (noise["p"] > 1e-3).mean() > 0.7
