"""Regenerate tests/data/matching_eval.json, the labelled set behind `make eval`.

Grades come from a role taxonomy the matcher never sees: every job belongs to a role family
and level, every candidate wants one family at one level.
  3  same family, same level            2  same family, one level apart
  1  a related family (e.g. backend~devops, frontend~design)        0  anything else
Jobs and profiles are written the way people write them: skills drawn from the family's pool
with noise from other families, aliases (k8s, postgres, golang), and varied titles.
Run: python tests/data/generate_matching_eval.py  (deterministic: random seed 2026)
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FAMILIES: dict[str, dict[str, list[str]]] = {
    "backend": {"titles": ["Backend Engineer", "Python Developer", "API Engineer", "Go Developer"],
                "skills": ["python", "go", "postgres", "redis", "grpc", "django", "fastapi",
                           "kafka", "sql", "rest api"]},
    "frontend": {"titles": ["Frontend Engineer", "React Developer", "UI Engineer"],
                 "skills": ["javascript", "typescript", "react.js", "vue", "css", "html",
                            "angular", "graphql"]},
    "data": {"titles": ["Data Engineer", "Data Scientist", "Analytics Engineer", "ML Engineer"],
             "skills": ["python", "spark", "airflow", "pandas", "sql", "ml", "pytorch",
                        "tableau", "sklearn"]},
    "devops": {"titles": ["DevOps Engineer", "Site Reliability Engineer", "Platform Engineer"],
               "skills": ["k8s", "docker", "terraform", "aws", "linux", "ci/cd", "gcp", "go"]},
    "mobile": {"titles": ["iOS Developer", "Android Developer", "Mobile Engineer"],
               "skills": ["swift", "kotlin", "react native", "flutter", "javascript", "graphql"]},
    "design": {"titles": ["Product Designer", "UX Designer", "UI Designer"],
               "skills": ["figma", "user research", "prototyping", "css", "design systems"]},
    "product": {"titles": ["Product Manager", "Product Owner", "Technical Product Manager"],
                "skills": ["roadmapping", "agile", "scrum", "user research", "sql", "jira"]},
    "sales": {"titles": ["Account Executive", "Sales Representative", "Business Developer"],
              "skills": ["salesforce", "negotiation", "crm", "communication", "lead generation"]},
    "marketing": {"titles": ["Marketing Manager", "SEO Specialist", "Content Marketer"],
                  "skills": ["seo", "google analytics", "content", "communication", "crm"]},
    "finance": {"titles": ["Financial Analyst", "Accountant", "Controller"],
                "skills": ["excel", "power bi", "accounting", "forecasting", "sql"]},
}
RELATED = {frozenset(p) for p in (("backend", "devops"), ("backend", "data"),
                                  ("frontend", "mobile"), ("frontend", "design"),
                                  ("design", "product"), ("sales", "marketing"),
                                  ("data", "finance"))}
LEVELS = ["entry", "mid", "senior", "executive"]
CITIES = ["Berlin", "London", "Paris", "Madrid", "Amsterdam", "Remote"]


def grade(job: dict[str, object], person: dict[str, object]) -> int:
    if job["family"] == person["family"]:
        gap = abs(LEVELS.index(str(job["level"])) - LEVELS.index(str(person["level"])))
        return 3 if gap == 0 else 2 if gap == 1 else 1
    return 1 if frozenset((job["family"], person["family"])) in RELATED else 0


def main() -> None:
    rng = random.Random(2026)  # noqa: S311 - test data, repeatable on purpose
    names = list(FAMILIES)
    jobs = []
    for number in range(240):
        family = names[number % len(names)]
        pool = FAMILIES[family]["skills"]
        skills = rng.sample(pool, rng.randint(3, min(6, len(pool))))
        if rng.random() < 0.4:
            skills.append(rng.choice(FAMILIES[rng.choice(names)]["skills"]))
        level = rng.choice(LEVELS)
        title = f"{level.title() if level != 'mid' else ''} {rng.choice(FAMILIES[family]['titles'])}"
        jobs.append({"id": number + 1, "family": family, "level": level, "title": title.strip(),
                     "skills": sorted(set(skills)), "location": rng.choice(CITIES),
                     "remote": rng.random() < 0.3,
                     "description": f"{title.strip()} working with {', '.join(skills)} "
                                    f"in a {rng.choice(['small', 'growing', 'large'])} team."})
    people = []
    for number in range(60):
        family = names[number % len(names)]
        pool = FAMILIES[family]["skills"]
        skills = rng.sample(pool, rng.randint(2, min(5, len(pool))))
        if rng.random() < 0.3:
            skills.append(rng.choice(FAMILIES[rng.choice(names)]["skills"]))
        people.append({"id": number + 1, "family": family, "level": rng.choice(LEVELS),
                       "skills": sorted(set(skills)), "location": rng.choice(CITIES),
                       "remote": rng.random() < 0.4,
                       "headline": rng.choice(FAMILIES[family]["titles"])})
    judgements = {str(p["id"]): {str(j["id"]): g for j in jobs if (g := grade(j, p)) > 0}
                  for p in people}
    out = {"about": __doc__, "jobs": [{k: v for k, v in j.items() if k != "family"} for j in jobs],
           "candidates": [{k: v for k, v in p.items() if k != "family"} for p in people],
           "grades": judgements}
    path = Path(__file__).with_name("matching_eval.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path} ({len(jobs)} jobs, {len(people)} candidates)")


if __name__ == "__main__":
    main()
