"""`make eval`: ranking quality of the offline matcher on the labelled set, beside a naive
keyword baseline, as nDCG@10, P@5 (relevant = grade >= 2) and MRR.

The set (tests/data/matching_eval.json) grades jobs for candidates from a role taxonomy the
matcher never sees; see tests/data/generate_matching_eval.py.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hotgigs.ai import matching

DEFAULT_SET = Path(__file__).resolve().parents[3] / "tests" / "data" / "matching_eval.json"
Ranker = Callable[[dict[str, Any], Sequence[dict[str, Any]]], list[int]]


def _posting(job: dict[str, Any]) -> matching.Posting:
    return matching.Posting(int(job["id"]), tuple(job["skills"]), job["level"], job["location"],
                            bool(job["remote"]), None, None,
                            f"{job['title']} {job['description']}")


def offline_ranker(person: dict[str, Any], jobs: Sequence[dict[str, Any]]) -> list[int]:
    seeker = matching.Seeker(tuple(person["skills"]), person["level"], person["location"],
                             bool(person["remote"]), None, None, person["headline"])
    return [m.key for m in matching.rank(seeker, [_posting(j) for j in jobs], len(jobs))]


def keyword_ranker(person: dict[str, Any], jobs: Sequence[dict[str, Any]]) -> list[int]:
    """The original's "AI": count the candidate's skill strings found in the job text."""
    def hits(job: dict[str, Any]) -> int:
        text = f"{job['title']} {job['description']} {' '.join(job['skills'])}".lower()
        return sum(1 for skill in person["skills"] if skill.lower() in text)
    return [int(j["id"]) for j in sorted(jobs, key=lambda j: (-hits(j), j["id"]))]


def ndcg_at(ranked: Sequence[int], grades: dict[int, int], k: int) -> float:
    def dcg(values: Sequence[int]) -> float:
        return float(sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(values[:k])))
    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(j, 0) for j in ranked]) / ideal if ideal else 0.0


def evaluate(ranker: Ranker, data: dict[str, Any]) -> dict[str, float]:
    jobs = data["jobs"]
    totals = {"ndcg@10": 0.0, "p@5": 0.0, "mrr": 0.0}
    for person in data["candidates"]:
        grades = {int(k): int(v) for k, v in data["grades"][str(person["id"])].items()}
        ranked = ranker(person, jobs)
        totals["ndcg@10"] += ndcg_at(ranked, grades, 10)
        totals["p@5"] += sum(1 for j in ranked[:5] if grades.get(j, 0) >= 2) / 5
        first = next((i for i, j in enumerate(ranked) if grades.get(j, 0) >= 2), None)
        totals["mrr"] += 0.0 if first is None else 1 / (first + 1)
    count = len(data["candidates"])
    return {name: round(value / count, 4) for name, value in totals.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.ai.evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled set (JSON)")
    args = parser.parse_args(argv)
    data = json.loads(args.set.read_text())
    rows = [("offline matcher", evaluate(offline_ranker, data)),
            ("keyword baseline", evaluate(keyword_ranker, data))]
    print(f"{len(data['jobs'])} jobs, {len(data['candidates'])} candidates, graded 0-3\n")
    print(f"{'ranker':<18} {'nDCG@10':>8} {'P@5':>8} {'MRR':>8}")
    for name, scores in rows:
        print(f"{name:<18} {scores['ndcg@10']:>8.3f} {scores['p@5']:>8.3f} {scores['mrr']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
