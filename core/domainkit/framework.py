"""The regulator's framework as data: key questions, quality statements, evidence categories, regulations."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from carecheck.errors import InputError
from carecheck.yamlfile import parse_yaml

FRAMEWORK_DIR = Path(__file__).parent.parent / "data" / "framework"
DEFAULT_FRAMEWORK = "cqc-saf-2023"


class QualityStatement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_question: str
    title: str


class Framework(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    version: int
    key_questions: dict[str, str]
    quality_statements: dict[str, QualityStatement]
    evidence_categories: dict[str, str]
    categories_not_used: dict[str, list[str]]
    regulations: dict[str, str]

    def categories_for(self, service_type: str | None) -> set[str]:
        """Evidence categories that apply to a type of service."""
        return set(self.evidence_categories) - set(self.categories_not_used.get(service_type or "", []))


@lru_cache(maxsize=8)
def load_framework(name: str = DEFAULT_FRAMEWORK) -> Framework:
    path = FRAMEWORK_DIR / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in FRAMEWORK_DIR.glob("*.yaml"))
        raise InputError(f"unknown framework {name!r} (known: {', '.join(known)})")
    return Framework.model_validate(parse_yaml(path.read_text(encoding="utf-8")))


def framework_doc(name: str = DEFAULT_FRAMEWORK) -> str:
    """docs/plugins/framework-ids.md: every id a domain may cite in ``key_questions``,
    ``quality_statements`` and ``regulations``, with its title."""
    framework = load_framework(name)
    lines = [f"# Framework ids a domain may cite ({framework.title})", "",
             "Generated from `core/data/framework/" + name + ".yaml` (`python -m carecheck.domainkit.framework "
             "docs/plugins/framework-ids.md`). A domain citing an id not listed here is refused when it loads, "
             "with an error naming the plugin, the attribute and the value.", "", "## Key questions (`key_questions`)", "", "| id | title |", "|---|---|"]
    lines += [f"| `{key}` | {title} |" for key, title in framework.key_questions.items()]
    lines += ["", "## Quality statements (`quality_statements`)", "", "| id | title |", "|---|---|"]
    lines += [f"| `{key}` | {statement.title} |" for key, statement in framework.quality_statements.items()]
    lines += ["", "## Regulations (`regulations`)", "", "| id | title |", "|---|---|"]
    lines += [f"| `{key}` | {title} |" for key, title in framework.regulations.items()]
    lines += ["", "## Evidence categories (`EvidenceSource.category`)", "", "| id | title |", "|---|---|"]
    lines += [f"| `{key}` | {title} |" for key, title in framework.evidence_categories.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys
    from pathlib import Path

    Path(sys.argv[1]).write_text(framework_doc(), encoding="utf-8")
