"""Skill names in one spelling: an alias dictionary, and skill spotting in free text."""

from __future__ import annotations

import re
from collections.abc import Iterable

ALIASES: dict[str, str] = {
    "js": "javascript", "ecmascript": "javascript", "ts": "typescript", "py": "python",
    "python3": "python", "golang": "go", "postgres": "postgresql", "psql": "postgresql",
    "k8s": "kubernetes", "kube": "kubernetes", "reactjs": "react", "react.js": "react",
    "vuejs": "vue", "vue.js": "vue", "node": "node.js", "nodejs": "node.js",
    "ml": "machine learning", "ai": "machine learning", "amazon web services": "aws",
    "google cloud": "gcp", "ms excel": "excel", "powerbi": "power bi", "c plus plus": "c++",
    "cpp": "c++", "csharp": "c#", "c sharp": "c#", "sklearn": "scikit-learn",
    "tf": "tensorflow", "torch": "pytorch", "rest api": "rest", "restful": "rest",
    "ci/cd": "ci", "gitlab ci": "ci", "github actions": "ci",
}
KNOWN: frozenset[str] = frozenset({
    "python", "java", "javascript", "typescript", "go", "rust", "c++", "c#", "sql",
    "postgresql", "mysql", "redis", "kubernetes", "docker", "aws", "gcp", "azure", "terraform",
    "react", "vue", "angular", "node.js", "django", "flask", "fastapi", "spark", "kafka",
    "airflow", "pandas", "pytorch", "tensorflow", "scikit-learn", "machine learning", "excel",
    "figma", "salesforce", "seo", "tableau", "power bi", "linux", "git", "graphql", "grpc",
    "rest", "ci", "communication", "leadership", "agile", "scrum", "html", "css",
})


def normalise(skill: str) -> str:
    cleaned = re.sub(r"\s+", " ", skill.strip().lower())
    return ALIASES.get(cleaned, cleaned)


def normalise_all(skills: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for skill in skills:
        name = normalise(skill)
        if name and name not in seen:
            seen.append(name)
    return seen


_TERMS = sorted({*KNOWN, *ALIASES}, key=len, reverse=True)
_PATTERN = re.compile(r"(?<![\w+#.])(" + "|".join(re.escape(t) for t in _TERMS) + r")(?![\w+#])",
                      re.IGNORECASE)


def find_in_text(text: str) -> list[str]:
    """Known skills mentioned in `text`, normalised, in order of first mention."""
    return normalise_all(match.group(1) for match in _PATTERN.finditer(text))


def tokens(text: str) -> list[str]:
    """Lower-case word tokens for BM25 (skills kept whole: c++, node.js)."""
    return [normalise(t) for t in re.findall(r"[a-z0-9][a-z0-9+#.]*[a-z0-9+#]|[a-z0-9]",
                                             text.lower())]
