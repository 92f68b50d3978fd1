"""Words, never codes: the table, markdown and HTML formats show every rule, cap, target, kind,
domain, parameter and code by its title or in words; ids stay in JSON, JUnit and the id columns.
Titles follow the resolved ruleset: an overlay's value shows in every format."""

import json
import re
from html.parser import HTMLParser

import pytest

from builders import demo_store_in, ruleset_file
from carecheck import plugin_manager
from carecheck.records import BUILTIN_KINDS
from carecheck.verdict.levels import LEVEL_RULES, LEVELS

#: Ids that are one word, never shown in the formats as they stand.
SINGLE_WORD_IDS = ("cadence",)


def defined_ids() -> set[str]:
    """Every id with an underscore that the default ruleset's domains and the record kinds define:
    domains, targets, escalations, signals, measures, parameters, kinds, fields, codes; and the
    verdict's own level rules, caps, levels, statuses, reason codes and evidence categories."""
    ids: set[str] = set()
    for name, registered in plugin_manager.registry().domains.items():
        domain = registered.item
        ids.add(name)
        ids.update(t.id for t in domain.targets)
        ids.update(e.id for e in domain.escalations)
        ids.update(s.name for s in domain.signals)
        ids.update(m.name for m in domain.measures)
        ids.update(domain.parameters_model.model_fields)
        ids.update(source.category for source in domain.evidence)
    for kind, model in BUILTIN_KINDS.items():
        ids.add(kind)
        for field_name, field in model.model_fields.items():
            ids.add(field_name)
            annotation = str(field.annotation)
            ids.update(re.findall(r"'([a-z]+(?:_[a-z0-9]+)+)'", annotation))
    ids.update(rule.name for rule in LEVEL_RULES)
    ids.update(rule.cap for rule in LEVEL_RULES if rule.role == "cap")
    ids.update(LEVELS)
    ids.update({"not_improving", "insufficient_evidence", "no_records", "no_events", "no_evidence", "data_gap",
                "registered_manager", "nominated_individual", "safeguarding_lead", "deputy_manager", "quality_lead",
                "provider_representative", "clinical_lead"})
    return {i for i in ids if "_" in i} | set(SINGLE_WORD_IDS)


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, styles."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible(fmt: str, text: str) -> str:
    if fmt != "html":
        return text
    parser = _Text()
    parser.feed(text)
    return "\n".join(parser.parts)


def codes_in(text: str, ids: set[str]) -> dict[str, str]:
    """Each id found as a whole token, with the line it is in."""
    found = {}
    for token in set(re.findall(r"[A-Za-z0-9_]+", text)) & ids:
        line = next(line for line in text.splitlines() if re.search(rf"(?<![\w-]){token}(?![\w-])", line))
        found[token] = line.strip()[:160]
    return found


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    return demo_store_in(tmp_path_factory.mktemp("words"))


def _formats(run_cli, *args):
    out = {}
    for fmt in ("table", "md", "html"):
        result = run_cli(*args, "--format", fmt)
        assert result.exit_code in (0,), result.stderr
        out[fmt] = visible(fmt, result.stdout)
    return out


def test_the_scan_finds_codes_where_they_are(run_cli, stores):
    # The scan itself: JSON keeps ids, and the scan sees them there.
    runs = json.loads(run_cli("runs", "--db", stores, "--json").stdout)
    text = run_cli("report", runs[-1]["run_id"], "--db", stores, "--format", "json").stdout
    assert {"inc_review_5wd", "incident_learning", "level_not_assured"} <= set(codes_in(text, defined_ids()))


def test_the_demo_shows_no_code_in_table_markdown_or_html(run_cli, stores):
    runs = json.loads(run_cli("runs", "--db", stores, "--json").stdout)
    for fmt, text in _formats(run_cli, "report", runs[-1]["run_id"], "--db", stores).items():
        assert codes_in(text, defined_ids()) == {}, fmt


def test_an_overlay_says_its_values_everywhere_and_no_code(run_cli, stores, tmp_path):
    overlay = ruleset_file(tmp_path, "extends: cqc-recovery\nname: three-days\ndomains:\n  incident_learning:\n"
                                     "    parameters:\n      review_within_working_days: 3\n")
    for fmt, text in _formats(run_cli, "run", overlay, "--db", stores, "--as-of", "31/08/2026", "--no-save").items():
        assert "Incidents reviewed within three working days" in text, fmt
        assert "five working days" not in text, fmt
        assert codes_in(text, defined_ids()) == {}, fmt
