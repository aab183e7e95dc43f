"""Caption statistics of Appendix A.2–A.3: token counts (Table 4) and pairwise similarity (Table 5).

Similarity uses established implementations: sacreBLEU (BLEU-1, BLEU-4; corpus level, ``13a`` tokenisation,
lower-cased), the COCO-caption METEOR 1.5 (Java, shipped by ``pycocoevalcap``), Google's ``rouge-score``
(ROUGE-1 and ROUGE-L F-measure, averaged over clips) and a CLIP-S-style score: the mean cosine similarity of
the two captions' sentence embeddings (no 2.5 rescaling; text–text, as the paper's Table 5 reports).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PAPER_TABLE4", "PAPER_TABLE5", "token_table", "similarity_table", "pair_similarity"]

PAPER_TABLE4 = {"blip": 10.6, "anchor": 32.8, "motion": 41.1, "holi": 52.8}
PAPER_TABLE5 = pd.DataFrame(
    [[0.171, 0.022, 0.186, 0.275, 0.207, 0.655], [0.197, 0.028, 0.222, 0.304, 0.225, 0.665],
     [0.270, 0.067, 0.292, 0.400, 0.293, 0.744]],
    index=["anchor vs motion", "anchor vs holi", "motion vs holi"],
    columns=["BLEU-1", "BLEU-4", "METEOR", "ROUGE-1", "ROUGE-L", "CLIP-S"])


def token_table(captions: pd.DataFrame, count_tokens) -> pd.DataFrame:
    """Mean tokens per caption type (Table 4), ours beside the paper's; ``count_tokens(list[str]) → counts``."""
    rows = {level: {"ours": float(np.mean(count_tokens(captions[level].tolist()))), "paper": paper}
            for level, paper in PAPER_TABLE4.items()}
    return pd.DataFrame(rows).T.rename_axis("caption type")


def pair_similarity(a: list[str], b: list[str], embed_pooled) -> dict[str, float]:
    """BLEU-1/4, METEOR, ROUGE-1/L and CLIP-S between aligned caption lists ``a`` and ``b`` (one per clip)."""
    from pycocoevalcap.meteor.meteor import Meteor
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    bleu = {n: BLEU(max_ngram_order=n, lowercase=True, effective_order=True).corpus_score(a, [b]).score / 100
            for n in (1, 4)}
    meteor, _ = Meteor().compute_score({i: [y] for i, y in enumerate(b)}, {i: [x] for i, x in enumerate(a)})
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    rouge = [scorer.score(y, x) for x, y in zip(a, b)]
    ea, eb = embed_pooled(a), embed_pooled(b)
    return {"BLEU-1": bleu[1], "BLEU-4": bleu[4], "METEOR": float(meteor),
            "ROUGE-1": float(np.mean([r["rouge1"].fmeasure for r in rouge])),
            "ROUGE-L": float(np.mean([r["rougeL"].fmeasure for r in rouge])),
            "CLIP-S": float(np.mean(np.sum(ea * eb, axis=1)))}


def similarity_table(captions: pd.DataFrame, embed_pooled) -> pd.DataFrame:
    """Table 5: similarity of each pair of SemMiner levels over all clips; lower means more complementary."""
    pairs = [("anchor", "motion"), ("anchor", "holi"), ("motion", "holi")]
    return pd.DataFrame({f"{x} vs {y}": pair_similarity(captions[x].tolist(), captions[y].tolist(), embed_pooled)
                         for x, y in pairs}).T
