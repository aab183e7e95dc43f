"""What a finished default-twin run (results/twin) allows the blurry video's EPE to reach, four ways:

1. decodability: held-out accuracy of a logistic regression from a subject's test BOLD to each scene attribute
   (motion, speed, category, colour, background), against the majority class;
2. shrinkage: EPE of MAD's blurry video when each frame's departure from its clip's mean frame is scaled by α
   (α = 0 is a still, α = 1 MAD as trained): if EPE grows with α, MAD's frame-to-frame change carries no flow;
3. oracle motion: a still (the true first frame, or MAD's clip-mean frame) moved by the scene graph's *true*
   motion, either as a whole frame or only inside the object's (true, blurred) mask;
4. decoded flow: MAD's flow readout (semvideo.models.flow: ridge from BOLD to the truth's own Farneback flow,
   small vectors set to zero, α and threshold chosen on held-out training clips) scored in the flow domain, and
   MAD's clip-mean latent moved along the *true* flow (the readout's ceiling as a video).

    python benchmarks/mad_ceiling.py [subject1]

Prints one JSON line; the mean-frame baseline's EPE is under "epe_mean_frame".
"""

import json
import sys

import cv2
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from semvideo.config import load_config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.render import _object_mask
from semvideo.data.synthetic.truth import scene_graphs
from semvideo.data.synthetic.world import object_state
from semvideo.data.video import clip_frame_indices
from semvideo.metrics.pixel import mean_frame
from semvideo.metrics.temporal import epe, flow_error
from semvideo.models.flow import fit_flow_readout, move_latents, stimulus_flows
from semvideo.models.priors import decode_latents, load_vae
from semvideo.paths import RunPaths

ATTRIBUTES = ("motion", "speed", "category", "colour", "background")


def decodability(data: PreparedData, graphs: dict, subject: str) -> dict:
    bold = {split: np.asarray(data.bold(subject, split)) for split in ("train", "test")}
    labels = {split: np.array([[graphs[c][a] for a in ATTRIBUTES] for c in data.split_clips(split).clip_id])
              for split in ("train", "test")}
    scores = {}
    for k, attribute in enumerate(ATTRIBUTES):
        model = LogisticRegression(C=0.03, max_iter=500).fit(bold["train"], labels["train"][:, k])
        _, counts = np.unique(labels["test"][:, k], return_counts=True)
        scores[attribute] = {"accuracy": round(float(model.score(bold["test"], labels["test"][:, k])), 3),
                             "majority": round(float(counts.max() / counts.sum()), 3)}
    return scores


def affine_moves(graph: dict, frame_times: np.ndarray, size: int) -> list[np.ndarray]:
    """2×3 pixel maps from the object's state at the clip's middle time to its state at each frame time."""
    middle = object_state(graph, graph["shot_time"] + frame_times.mean())
    maps = []
    for t in frame_times:
        state = object_state(graph, graph["shot_time"] + t)
        angle = np.deg2rad(state["angle"] - middle["angle"])
        linear = state["scale"] / middle["scale"] * np.array([[np.cos(angle), -np.sin(angle)],
                                                               [np.sin(angle), np.cos(angle)]])
        maps.append(np.hstack([linear, (state["xy"] * size - linear @ (middle["xy"] * size))[:, None]]))
    return maps


def moved(still: np.ndarray, graph: dict, frame_times: np.ndarray, object_only: bool) -> np.ndarray:
    """(n, S, S, 3) uint8: ``still`` moved by the true motion, whole frame or object layer only."""
    size = still.shape[0]
    maps = affine_moves(graph, frame_times, size)
    if not object_only:
        return np.stack([cv2.warpAffine(still, m, (size, size), borderMode=cv2.BORDER_REFLECT) for m in maps])
    middle = object_state(graph, graph["shot_time"] + frame_times.mean())
    radius = 0.5 * graph["base_size"] * middle["scale"] * size * 1.2  # a little beyond the object's outline
    mask = _object_mask(graph["category"], middle["xy"] * size, radius, middle["angle"], size) / 255.0
    layer = np.dstack([still * cv2.GaussianBlur(mask, (0, 0), 1.5)[..., None], cv2.GaussianBlur(mask, (0, 0), 1.5)])
    frames = []
    for m in maps:
        warped = cv2.warpAffine(layer.astype(np.float32), m, (size, size))
        frames.append(still * (1 - warped[..., 3:]) + warped[..., :3])
    return np.clip(np.stack(frames), 0, 255).round().astype(np.uint8)


def decoded_flow(data: PreparedData, subject: str, clip_latent: np.ndarray, vae, truth: np.ndarray) -> dict:
    """The flow readout (semvideo.models.flow) in the flow domain, and MAD's clip latent moved by the true flow."""
    flows = {split: stimulus_flows(np.asarray(data.frames(split))) for split in ("train", "test")}
    bold = {split: np.asarray(data.bold(subject, split)) for split in ("train", "test")}
    readout = fit_flow_readout(bold["train"], flows["train"])
    best = readout.scores.loc[readout.scores["held_out_epe"].idxmin()]
    video = decode_latents(vae, torch.from_numpy(move_latents(clip_latent, flows["test"])))
    return {"alpha_per_clip": readout.alpha, "threshold": readout.threshold,
            "held_out_flow_epe": round(float(best["held_out_epe"]), 4),
            "held_out_flow_epe_zero": round(float(best["zero_flow_epe"]), 4),
            "test_flow_epe": round(flow_error(flows["test"], readout.predict(bold["test"])), 4),
            "test_flow_epe_zero": round(flow_error(flows["test"], 0.0), 4),
            "video_epe_true_flow": float(epe(truth, video).mean())}


def main(subject: str = "subject1") -> dict:
    cfg = load_config("config/default.yaml")
    data, paths = PreparedData.from_config(cfg), RunPaths.from_config(cfg)
    graphs = scene_graphs(paths.data_root)
    truth = np.asarray(data.frames("test"))
    ids = data.split_clips("test").clip_id.tolist()
    baseline_frame = mean_frame(data.frames("train"))
    blurry = np.load(paths.mad / "pred" / f"{subject}_blurry.npy").astype(np.float32)  # MAD's own ê, decoded
    still = blurry.mean(axis=1, keepdims=True)
    clip_latent = np.load(paths.mad / "pred" / f"{subject}_latents.npy").mean(axis=1)
    shrinkage = {alpha: float(epe(truth, np.clip(still + alpha * (blurry - still), 0, 255).round()
                                  .astype(np.uint8)).mean()) for alpha in (0.0, 0.5, 1.0)}
    frame_times = clip_frame_indices(0, cfg.fmri.clip_seconds, cfg.twin.fps, cfg.fmri.frames_per_clip) / cfg.twin.fps
    stills = {"true first frame": truth[:, 0], "MAD clip mean": still[:, 0].round().astype(np.uint8)}
    oracle = {f"{name}, {'object' if object_only else 'whole frame'}":
              float(epe(truth, np.stack([moved(s[k], graphs[c], frame_times, object_only)
                                         for k, c in enumerate(ids)])).mean())
              for name, s in stills.items() for object_only in (False, True)}
    return {"subject": subject, "epe_mean_frame": float(epe(truth, np.broadcast_to(baseline_frame, truth.shape)).mean()),
            "decodability": decodability(data, graphs, subject), "epe_shrinkage": shrinkage, "epe_oracle_motion": oracle,
            "decoded_flow": decoded_flow(data, subject, clip_latent, load_vae(cfg), truth)}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
