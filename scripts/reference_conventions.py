"""Run the reference papers' own metric functions on generated inputs → tests/data/conventions/ (issue 22).

    python scripts/reference_conventions.py [--mirrors /work/.mirror] [--out tests/data/conventions]

``--mirrors`` holds bare git snapshots of the reference repositories (``owner+name/repo``, as the ``fetch``
tool writes them, or any ``git clone --bare``): Mind-Animator/Mind-Animator, ReedOnePeck/Mind-Animator,
jqin4749/MindVideo and xmed-lab/NEURONS. Each reference file is read at the pinned commit in
:data:`SOURCES` (an error names a missing one). The reference code is never copied into this repository:
it is read from the mirror and executed in memory.

How a reference function is run in isolation: the module's source is parsed, and its import statements and
its function and class definitions are executed *unchanged*; its top-level statements (loading the authors'
GIFs and .npy files from their absolute paths, loading CLIP/ViT weights onto a GPU) are dropped. Imports this
environment lacks or that would load large models (``clip``, ``transformers``, ``torchmetrics``,
``einops``, ``wandb``) are replaced by stub modules; none of the functions called here uses them, except
the CLIP model of the CLIP-pcc functions, which is replaced by a lookup table of given embeddings so that
the reference's *aggregation* (pairs, cosine, VIFI gate, means) is what runs. Two top-level pieces are
executed from the parsed source too: Mind-Animator's shuffle-test loop (``for i in range(5): …`` of
``shuffle_for_EPE.py``) and nothing else; the EPE script's one loading line that resizes frames to
512 × 512 (``cv2.resize(gt_f, (512, 512))``) is applied here as written there, since its loading loop reads
the authors' files.

Outputs: ``inputs.npz`` (the generated uint8 videos) and ``reference_outputs.json`` (reference values, the
repositories' commits, library versions). Deterministic: inputs from a seeded generator, reference draws
from ``np.random.seed``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import skimage
import torch

SOURCES = {
    "ma_pixel": ("Mind-Animator+Mind-Animator", "a5b8187f317c4272f904dfd847b6e3c7cd091ab8",
                 "Interpretability experiments/permutation_test.py"),
    "ma_st": ("Mind-Animator+Mind-Animator", "a5b8187f317c4272f904dfd847b6e3c7cd091ab8",
              "Evaluation Metrics/ST_level_metric.py"),
    "ma_nway": ("Mind-Animator+Mind-Animator", "a5b8187f317c4272f904dfd847b6e3c7cd091ab8",
                "Evaluation Metrics/2-way-I.py"),
    "ma_epe": ("ReedOnePeck+Mind-Animator", "a5adbf3b50cc34d7b65822238119e31dc9f84209", "Evaluation_Metrics/EPE.py"),
    "ma_shuffle": ("ReedOnePeck+Mind-Animator", "a5adbf3b50cc34d7b65822238119e31dc9f84209",
                   "Explainable_analysis/shuffle_test/shuffle_for_EPE.py"),
    "mindvideo": ("jqin4749+MindVideo", "5097206d93209e7b32d24169a0b81e0d1104e6d1",
                  "src/MindVideo/utils/eval_metrics.py"),
    "neurons": ("xmed-lab+NEURONS", "4e4fd545d982747cc9e2a4af2eb0186a22eb5c84", "eval_metrics.py"),
}
KINDS = ("identical", "noisy", "shifted", "hue_rotated", "random", "static", "grey")
N_PER_KIND, T, H, W = 2, 4, 16, 20  # small frames: stored inputs stay a few tens of kB
EMBED_DIM = 6
NWAY_SEEDS, NWAY_WAYS, NWAY_TRIALS = (0, 1, 2), (2, 5, 10), 100


# ------------------------------------------------------------------------------------- running references


class _Stub(types.ModuleType):
    """A module whose every attribute is a harmless callable stub (for imports the functions do not use)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything()


class _Anything:
    def __call__(self, *args, **kwargs):
        return _Anything()

    def __getattr__(self, name):
        return _Anything()


def _install_stubs() -> None:
    for name in ("clip", "transformers", "torchmetrics", "torchmetrics.functional", "einops", "wandb"):
        sys.modules.setdefault(name, _Stub(name))


def read_source(mirrors: Path, key: str) -> str:
    repo, commit, path = SOURCES[key]
    git_dir = mirrors / repo / "repo"
    result = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], check=False,
                            capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{git_dir}: cannot read {path} at {commit} ({result.stderr.strip()}); fetch the repository "
                 f"{repo.replace('+', '/')} into --mirrors")
    return result.stdout


def load_functions(source: str, name: str, extra: dict | None = None) -> dict:
    """Execute a reference module's imports and def/class statements only; returns its namespace."""
    tree = ast.parse(source)
    kept = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                            ast.ClassDef))]
    namespace = {"__name__": f"reference_{name}", **(extra or {})}
    exec(compile(ast.Module(body=kept, type_ignores=[]), f"<{name}>", "exec"), namespace)  # noqa: S102
    return namespace


def toplevel_loop(source: str, marker: str) -> ast.Module:
    """The first top-level ``for`` statement whose source contains ``marker`` (Mind-Animator's shuffle loop)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.For) and marker in ast.unparse(node):
            return ast.Module(body=[node], type_ignores=[])
    raise SystemExit(f"no top-level loop containing {marker!r}")


class _LookupModel:
    """Stands in for a CLIP image tower: returns the stored embedding of each (preprocessed) frame."""

    def __init__(self, table: dict):
        self.table = table

    def encode_image(self, x):  # Mind-Animator: x = preprocess(img).unsqueeze(0)
        return torch.stack([self.table[_key(v)] for v in x])

    def get_image_features(self, pixel_values):  # NEURONS (transformers CLIPModel)
        return torch.stack([self.table[_key(v)] for v in pixel_values])

    def to(self, *args, **kwargs):
        return self


def _key(t) -> bytes:
    return np.asarray(t, dtype=np.uint8).tobytes()


def _preprocess(image):  # Mind-Animator's CLIP preprocess → the frame itself, as a tensor
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())


class _Processor:  # NEURONS' AutoProcessor(images=video, return_tensors="pt").to(device)
    def __call__(self, images, return_tensors):
        return _Batch(pixel_values=torch.from_numpy(np.asarray(images, dtype=np.uint8).copy()))


class _Batch(dict):
    def to(self, device):
        return self


# ----------------------------------------------------------------------------------------------- inputs


def make_inputs(seed: int = 22) -> dict[str, np.ndarray]:
    """Truth and reconstruction videos (kind × clip, T, H, W, 3) and CLIP embeddings, uint8 / float64."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    truths, recons = [], []
    for kind in KINDS:
        for _ in range(N_PER_KIND):
            colour, background = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
            frames = []
            for t in range(T):  # a coloured disc moving right on a textured background
                cx, cy = 5 + 2 * t + rng.integers(0, 3), 8 + rng.integers(-1, 2)
                disc = (xx - cx) ** 2 + (yy - cy) ** 2 < 16
                texture = (np.sin(xx / 2.0 + t) * 30 + np.cos(yy / 3.0) * 30)[..., None]
                frame = np.clip(background + texture, 0, 255)
                frame[disc] = colour
                frames.append(frame)
            truth = np.asarray(frames).astype(np.uint8)
            if kind == "grey":
                truth = np.repeat(truth.mean(axis=-1, keepdims=True), 3, axis=-1).astype(np.uint8)
            truths.append(truth)
            recons.append(_recon(kind, truth, rng))
    embeddings = rng.normal(size=(4, T, EMBED_DIM))
    embeddings[1] = embeddings[1, :1] + 0.05 * rng.normal(size=(T, EMBED_DIM))  # a near-static clip
    return {"truth": np.asarray(truths), "recon": np.asarray(recons),
            "clip_frames": rng.integers(0, 256, (4, T, 2, 2, 3), dtype=np.uint8), "embeddings": embeddings,
            "vifi": np.array([0.7, 0.6, 0.59, 0.9]),
            "shuffle_truth": _moving(rng, 3), "shuffle_noisy": None}


def _recon(kind: str, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if kind in ("identical", "grey"):
        return truth.copy()
    if kind == "noisy":
        return np.clip(truth + rng.normal(0, 20, truth.shape), 0, 255).astype(np.uint8)
    if kind == "shifted":
        return np.roll(truth, (2, 3), axis=(1, 2))
    if kind == "hue_rotated":
        hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in truth])
        hsv[..., 0] = (hsv[..., 0].astype(int) + 40) % 180
        return np.stack([cv2.cvtColor(f, cv2.COLOR_HSV2RGB) for f in hsv])
    if kind == "random":
        return rng.integers(0, 256, truth.shape, dtype=np.uint8)
    if kind == "static":
        return np.repeat(truth[:1], len(truth), axis=0)
    raise ValueError(kind)


def _moving(rng: np.random.Generator, n: int) -> np.ndarray:
    """n clips of 8 frames (the shuffle script permutes exactly 8) of a bar moving at a clip-specific speed."""
    yy, xx = np.mgrid[:H, :W]
    clips = []
    for i in range(n):
        base = rng.integers(0, 256, 3)
        frames = [np.where(((xx - (2 + (i + 1) * t)) % W < 4)[..., None], base, 255 - base) for t in range(8)]
        clips.append(np.asarray(frames) + (np.sin(yy / 2.0) * 20)[None, ..., None])
    return np.clip(np.asarray(clips), 0, 255).astype(np.uint8)


def make_probabilities(seed: int = 23) -> dict[str, np.ndarray]:
    """Judge probability rows (N, K = 12) for truth and reconstruction, float32, one row with a tie."""
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet(np.ones(12), size=6).astype(np.float32)
    recon = rng.dirichlet(np.ones(12), size=6).astype(np.float32)
    recon[0] = truth[0]  # a perfect reconstruction
    top = np.argsort(truth[5])[-3:]
    others = np.setdiff1d(np.arange(12), top)
    recon[5] = np.float32(0.05)
    recon[5, others[:4]] = np.float32(0.1)  # four distractors at 0.1 …
    recon[5, top[0]] = np.float32(0.1)  # … tie with the best truth class: ties must count as failures
    return {"truth": truth, "recon": recon}


# ---------------------------------------------------------------------------------------------- generate


def generate(mirrors: Path) -> tuple[dict, dict[str, np.ndarray]]:
    _install_stubs()
    inputs = make_inputs()
    rng = np.random.default_rng(24)
    inputs["shuffle_noisy"] = np.clip(inputs["shuffle_truth"] + rng.normal(0, 25, inputs["shuffle_truth"].shape),
                                      0, 255).astype(np.uint8)
    truth, recon = inputs["truth"], inputs["recon"]
    table = {_key(f): torch.from_numpy(e) for frames, emb in zip(inputs["clip_frames"], inputs["embeddings"])
             for f, e in zip(frames, emb)}
    model = _LookupModel(table)
    out: dict = {"kinds": list(KINDS), "n_per_kind": N_PER_KIND, "sources": {
        k: {"repository": r.replace("+", "/"), "commit": c, "path": p} for k, (r, c, p) in SOURCES.items()},
        "versions": {"numpy": np.__version__, "opencv": cv2.__version__, "scikit-image": skimage.__version__,
                     "torch": torch.__version__}}
    quiet = contextlib.redirect_stderr(io.StringIO())

    # Mind-Animator: caculation (SSIM, PSNR, Hue per clip), cal_CLIP_pcc, EPE, N-way, shuffle test
    ma = load_functions(read_source(mirrors, "ma_pixel"), "ma_pixel",
                        {"model": model, "preprocess": _preprocess, "device": "cpu"})
    with quiet, np.errstate(all="ignore"):
        out["mindanimator"] = {m: [float(v) for v in ma["caculation"](recon, truth, T, kind)]
                               for m, kind in (("SSIM", "SSIM"), ("PSNR", "PSNR"), ("Hue-pcc", "PCC"))}
    st = load_functions(read_source(mirrors, "ma_st"), "ma_st",
                        {"model": model, "preprocess": _preprocess, "device": "cpu"})
    out["mindanimator"]["CLIP-pcc"] = [float(v) for v in st["cal_CLIP_pcc"](inputs["clip_frames"], inputs["vifi"], 0.6)]
    epe = load_functions(read_source(mirrors, "ma_epe"), "ma_epe")
    resized = [np.stack([np.array([cv2.resize(f, (512, 512)) for f in clip]) for clip in x]) for x in (truth, recon)]
    with quiet:
        out["mindanimator"]["EPE"] = [float(v) for v in epe["calculate_epe_ae"](resized[0], resized[1])[0]]
    out["nway"] = _nway(load_functions(read_source(mirrors, "ma_nway"), "ma_nway")["n_way_top_k_acc"])
    out["shuffle"] = _shuffle(read_source(mirrors, "ma_shuffle"), inputs)

    # MinD-Video: ssim_score_only per frame position (run_metrics.py), N-way
    mv = load_functions(read_source(mirrors, "mindvideo"), "mindvideo")
    out["mindvideo"] = {"SSIM_frames": _per_frame(mv["ssim_metric"], recon, truth),
                        "SSIM_set": float(np.mean([mv["ssim_score_only"](recon[:, i], truth[:, i])[0]
                                                   for i in range(T)]))}
    out["nway_mindvideo"] = _nway(mv["n_way_top_k_acc"])

    # NEURONS: ssim/psnr per frame and per position, clip_score_frame per clip, N-way
    ne = load_functions(read_source(mirrors, "neurons"), "neurons")
    ne["CLIPModel"] = types.SimpleNamespace(from_pretrained=lambda *a, **k: model)  # after its own imports ran
    ne["AutoProcessor"] = types.SimpleNamespace(from_pretrained=lambda *a, **k: _Processor())
    with quiet, np.errstate(all="ignore"):
        out["neurons"] = {
            "SSIM_frames": _per_frame(ne["ssim_metric"], recon, truth),
            "PSNR_frames": _per_frame(ne["psnr_metric"], recon, truth),
            "SSIM_set": float(np.mean([ne["ssim_score_only"](recon[:, i], truth[:, i])[0] for i in range(T)])),
            "PSNR_set": float(np.mean([ne["psnr_score_only"](recon[:, i], truth[:, i])[0] for i in range(T)])),
            "CLIP-pcc": [float(ne["clip_score_frame"]([clip], device="cpu")[0]) for clip in inputs["clip_frames"]],
        }
    out["nway_neurons"] = _nway(ne["n_way_top_k_acc"])
    stored = {k: v for k, v in inputs.items() if k != "clip_frames"}
    return out, stored


def _per_frame(fn, recon: np.ndarray, truth: np.ndarray) -> list[list[float]]:
    return [[float(fn(recon[i, j], truth[i, j])) for j in range(recon.shape[1])] for i in range(len(recon))]


def _nway(fn) -> dict:
    probs = make_probabilities()
    result = {"truth": probs["truth"].tolist(), "recon": probs["recon"].tolist(), "runs": []}
    for seed in NWAY_SEEDS:
        for n_way in NWAY_WAYS:
            np.random.seed(seed)
            acc = []
            for t_row, r_row in zip(probs["truth"], probs["recon"]):
                class_id = torch.from_numpy(t_row).argsort(-1, descending=False).flatten()[-3:]
                acc.append(fn(torch.from_numpy(r_row), class_id, n_way, NWAY_TRIALS, 1)[0])
            result["runs"].append({"seed": seed, "n_way": n_way, "n_trials": NWAY_TRIALS, "accuracy": acc})
    return result


def _shuffle(source: str, inputs: dict) -> dict:
    """Mind-Animator's shuffle-test loop (5 × 100 permutations of 8 frames), run from its parsed source."""
    module = load_functions(source, "ma_shuffle")
    loop = compile(toplevel_loop(source, "np.random.permutation"), "<shuffle loop>", "exec")
    result = {}
    for name, recon in (("identical", inputs["shuffle_truth"]), ("noisy", inputs["shuffle_noisy"]),
                        ("static", np.repeat(inputs["shuffle_truth"][:, :1], 8, axis=1))):
        gt = inputs["shuffle_truth"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            overall, _ = module["calculate_epe_ae"](gt, recon)
            namespace = {**module, "np": np, "tqdm": module["tqdm"], "gt_list": gt, "pred_list": recon,
                         "overall_mean_epe": overall, "P": []}
            np.random.seed(7)
            exec(loop, namespace)  # noqa: S102
        result[name] = {"seed": 7, "P_counts": [int(p) for p in namespace["P"]],
                        "clip_epe": [float(v) for v in overall]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "tests/data/conventions")
    args = parser.parse_args()
    out, stored = generate(args.mirrors)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reference_outputs.json").write_text(json.dumps(out, indent=1, allow_nan=True) + "\n")
    np.savez_compressed(args.out / "inputs.npz", **stored)
    print(f"wrote {args.out}/reference_outputs.json and inputs.npz")


if __name__ == "__main__":
    main()
