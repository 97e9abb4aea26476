"""Matching quality on the labelled set stays above a floor and above the keyword baseline.

Floor: nDCG@10 >= 0.65. Measured 0.684 for the offline matcher and 0.560 for the naive keyword
baseline (the original's substring counting) when the set was made; the floor leaves room for
harmless reordering but fails if the matcher falls back towards the baseline.
"""

from __future__ import annotations

import json

from hotgigs.ai import evaluation

FLOOR = 0.65


def test_offline_matcher_beats_the_floor_and_the_baseline() -> None:
    data = json.loads(evaluation.DEFAULT_SET.read_text())
    assert len(data["jobs"]) >= 200
    assert len(data["candidates"]) >= 50
    offline = evaluation.evaluate(evaluation.offline_ranker, data)
    baseline = evaluation.evaluate(evaluation.keyword_ranker, data)
    assert offline["ndcg@10"] >= FLOOR
    assert offline["ndcg@10"] >= baseline["ndcg@10"] + 0.05
    assert offline["p@5"] >= baseline["p@5"]


def test_ndcg_is_one_for_the_ideal_order_and_lower_otherwise() -> None:
    grades = {1: 3, 2: 2, 3: 0}
    assert evaluation.ndcg_at([1, 2, 3], grades, 10) == 1.0
    assert evaluation.ndcg_at([3, 2, 1], grades, 10) < 1.0
