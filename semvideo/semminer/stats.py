"""Caption statistics of Appendix A.2–A.3: token counts (Table 4) and similarity between levels (Table 5).

Table 5's metrics use established implementations, never hand-rolled n-gram code:

* BLEU-1 / BLEU-4 — sacrebleu sentence BLEU (13a tokenisation, exponential smoothing, effective order), the
  first caption of a pair as hypothesis and the second as reference, averaged over clips, scaled to 0–1;
* METEOR — the METEOR 1.5 jar shipped by ``pycocoevalcap`` (needs a Java runtime; no download), per clip;
* ROUGE-1 / ROUGE-L — ``rouge-score`` F-measure (lower-cased, no stemming), per clip;
* CLIP-S — the cosine between the two captions' pooled text embeddings (CLIP's projected text embedding on
  real data, MiniLM's mean-pooled sentence embedding on the twin); the image–text CLIPScore's 2.5·max(cos, 0)
  rescaling is not applied, as both sides are text.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from itertools import chain

import numpy as np
import pandas as pd

__all__ = [
    "PAIRS",
    "PAPER_TABLE4",
    "PAPER_TABLE5",
    "bleu",
    "meteor",
    "pair_cosine",
    "rouge",
    "similarity_table",
    "token_table",
]

#: Table 4 (CC2017): mean tokens per caption, BLIP-2 vs SemMiner's three levels.
PAPER_TABLE4 = {"blip": 10.6, "anchor": 32.8, "motion": 41.1, "holi": 52.8}
#: Table 5 (CC2017): similarity of caption pairs; lower = more complementary.
PAPER_TABLE5 = pd.DataFrame(
    [[0.171, 0.022, 0.186, 0.275, 0.207, 0.655],
     [0.197, 0.028, 0.222, 0.304, 0.225, 0.665],
     [0.270, 0.067, 0.292, 0.400, 0.293, 0.744]],
    index=["anchor vs motion", "anchor vs holi", "motion vs holi"],
    columns=["BLEU-1", "BLEU-4", "METEOR", "ROUGE-1", "ROUGE-L", "CLIP-S"],
)
PAIRS = (("anchor", "motion"), ("anchor", "holi"), ("motion", "holi"))
_LABELS = {"blip": "BLIP-style", "anchor": "C_anchor", "motion": "C_motion", "holi": "C_holi", "basic": "C_basic"}


def token_table(captions: pd.DataFrame, count_tokens: Callable[[list[str]], np.ndarray],
                tokenizer_name: str) -> pd.DataFrame:
    """Table 4: mean (and SD) tokens per caption type, the paper's numbers beside ours.

    Parameters
    ----------
    captions : one column per caption level (``blip``, ``anchor``, ``motion``, ``holi``), one row per clip.
    count_tokens : texts → int array of tokens per text (special tokens excluded).
    tokenizer_name : named in the table, since counts depend on the tokenizer.
    """
    rows = []
    for level, paper in PAPER_TABLE4.items():
        counts = np.asarray(count_tokens(captions[level].tolist()), dtype=float)
        rows.append({"caption type": _LABELS[level], "paper (CC2017, BLIP-2 / SemMiner)": paper,
                     "ours: mean": counts.mean(), "ours: SD": counts.std(ddof=1) if len(counts) > 1 else 0.0,
                     "tokenizer": tokenizer_name})
    return pd.DataFrame(rows).set_index("caption type")


def bleu(hypotheses: list[str], references: list[str], order: int) -> np.ndarray:
    """Per-pair sacrebleu sentence BLEU-``order`` in 0–1, shape (N,)."""
    from sacrebleu.metrics import BLEU

    metric = BLEU(max_ngram_order=order, effective_order=True)
    return np.array([metric.sentence_score(h, [r]).score / 100 for h, r in zip(hypotheses, references)])


def rouge(hypotheses: list[str], references: list[str]) -> dict[str, np.ndarray]:
    """Per-pair ROUGE-1 and ROUGE-L F-measures (rouge-score), each shape (N,)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"])
    scores = [scorer.score(r, h) for h, r in zip(hypotheses, references)]
    return {"ROUGE-1": np.array([s["rouge1"].fmeasure for s in scores]),
            "ROUGE-L": np.array([s["rougeL"].fmeasure for s in scores])}


def meteor(hypotheses: list[str], references: list[str]) -> np.ndarray:
    """Per-pair METEOR 1.5 (pycocoevalcap's jar), shape (N,); all NaN with a warning when Java is missing."""
    if shutil.which("java") is None:
        warnings.warn("METEOR needs a Java runtime (pycocoevalcap runs meteor-1.5.jar); install one, e.g. "
                      "`apt-get install default-jre-headless`; METEOR is reported as NaN", stacklevel=2)
        return np.full(len(hypotheses), np.nan)
    from pycocoevalcap.meteor.meteor import Meteor

    clean = [" ".join(t.split()) or "." for t in hypotheses]  # one line per caption; an empty one would stall
    refs = [" ".join(t.split()) or "." for t in references]
    _, scores = Meteor().compute_score({i: [r] for i, r in enumerate(refs)}, {i: [h] for i, h in enumerate(clean)})
    return np.asarray(scores, dtype=float)


def pair_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) embedding arrays, shape (N,)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def similarity_table(captions: pd.DataFrame, pooled: Callable[[list[str]], np.ndarray]) -> pd.DataFrame:
    """Table 5: mean similarity of each caption pair, ours and the paper's, rows "<pair> (ours|paper)".

    Parameters
    ----------
    captions : columns ``anchor``, ``motion``, ``holi``; one row per clip.
    pooled : texts → (N, D) sentence embeddings (the CLIP-S-style score).
    """
    embeddings = {level: pooled(captions[level].tolist()) for level in ("anchor", "motion", "holi")}
    hyps = [captions[first].tolist() for first, _ in PAIRS]
    refs = [captions[second].tolist() for _, second in PAIRS]
    meteors = np.split(meteor([*chain(*hyps)], [*chain(*refs)]), len(PAIRS))  # one Java start for all pairs
    rows = {}
    for (first, second), hyp, ref, met in zip(PAIRS, hyps, refs, meteors):
        pair = f"{first} vs {second}"
        rows[f"{pair} (ours)"] = {"BLEU-1": bleu(hyp, ref, 1).mean(), "BLEU-4": bleu(hyp, ref, 4).mean(),
                                  "METEOR": met.mean(), **{k: v.mean() for k, v in rouge(hyp, ref).items()},
                                  "CLIP-S": pair_cosine(embeddings[first], embeddings[second]).mean()}
        rows[f"{pair} (paper)"] = PAPER_TABLE5.loc[pair].to_dict()
    return pd.DataFrame.from_dict(rows, orient="index")[list(PAPER_TABLE5.columns)]
