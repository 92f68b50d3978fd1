"""The fleet's overview in each of its formats (``carecheck fleet run --format``): the providers'
locations, drifting ones first, in the same level words and order as every report. A fleet
overview is not a verdict, so these are not verdict reporters; they live beside them and share
their vocabulary (``verdict/levels.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from carecheck.verdict.levels import READER_WORDS

#: FORMATS the overview is written in.
FORMATS = ("table", "json", "junit", "html")


def render_overview(view: dict, fmt: str, where: Path) -> str:
    """The fleet overview in ``fmt`` (table, json, junit or html); ``where``: the folder the
    overview is written to, which the HTML's links to packs are relative to."""
    if fmt == "json":
        return json.dumps(view, indent=2) + "\n"
    if fmt == "junit":
        return _junit(view)
    if fmt == "html":
        return _html(view, where)
    return _table(view)


LEVEL_WORDS = READER_WORDS


def provider_rows(stores: list[dict], locations: list[dict]) -> list[dict]:
    """One row per provider's store: its lowest level, locations by level, drifting locations, open
    escalations and overdue actions, and why (its locations below assured); failed stores first,
    then the lowest level, then by name."""
    from carecheck.verdict.levels import LEVELS

    rows = []
    for store in stores:
        mine = [loc for loc in locations if loc["provider"] == store["provider"]]
        rows.append({
            "provider": store["provider"], "store": store["store"], "error": store["error"],
            "lowest_level": store["lowest_level"], "locations": len(mine),
            "levels": {level: sum(1 for loc in mine if loc["level"] == level) for level in reversed(LEVELS)},
            "drifting": sum(1 for loc in mine if loc["drifting"]),
            "escalations_open": sum(loc.get("escalations_open", 0) for loc in mine),
            "overdue_actions": sum(loc.get("overdue_actions", 0) for loc in mine),
            "why": "; ".join(f"{loc['location']}: {loc['why']}" for loc in sorted(
                mine, key=lambda loc: (_rank(loc["level"]), loc["location"])) if loc.get("why"))[:400],
            "newest_evidence": store.get("newest_evidence"), "data_end": store.get("data_end"),
        })
    rows.sort(key=lambda p: (p["error"] is None, _rank(p["lowest_level"]), p["provider"]))
    return rows


def _providers(view: dict) -> list[dict]:
    return view.get("providers") or provider_rows(view["stores"], view["locations"])


def _counts(item: dict) -> str:
    opened, overdue = item.get("escalations_open", 0), item.get("overdue_actions", 0)
    return (f"{opened} escalation{'s' if opened != 1 else ''} open, "
            f"{overdue} overdue action{'s' if overdue != 1 else ''}")


def _spread(levels: dict) -> str:
    return ", ".join(f"{n} {LEVEL_WORDS[level]}" for level, n in levels.items() if n) or "none"


def _domains(view: dict) -> list[dict]:
    """The domains in the ruleset's order, with their titles (older views: by name)."""
    if view.get("domains"):
        return view["domains"]
    names = sorted({d for loc in view["locations"] for d in loc["domains"]})
    return [{"domain": name, "title": name.replace("_", " ").capitalize()} for name in names]


def _by_provider(view: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for loc in sorted(view["locations"], key=lambda loc: (not loc["drifting"], _rank(loc["level"]), loc["location"])):
        found.setdefault(loc["provider"], []).append(loc)
    return found


def _rank(level: str | None) -> int:
    from carecheck.verdict.levels import rank

    return rank(level) if level else 9


def _table(view: dict) -> str:
    from carecheck.reporters.words import tabulate

    audit = view["audit"]
    lines = [f"carecheck fleet run {audit['fleet_run_id']}: ruleset {audit['ruleset']}, as of {audit['as_of']}, "
             f"{audit['stores']} stores, {audit['failed']} failed, {view['drifting']} locations drifting", ""]
    providers = _providers(view)
    lines.append(tabulate(
        [(p["provider"], "FAILED" if p["error"] else LEVEL_WORDS.get(p["lowest_level"], "-"),
          p["error"] or _spread(p["levels"]), p["drifting"], _counts(p), _uk(p.get("newest_evidence")),
          p["why"] or "-") for p in providers],
        headers=("provider", "lowest level", "locations by level", "drifting", "open", "evidence to", "why"),
        maxcolwidths=[30, None, 40, None, 22, None, 60]))
    domains = _domains(view)
    for provider, locations in _by_provider(view).items():
        lines += ["", f"{provider}"]
        lines.append(tabulate(
            [(loc["location"], LEVEL_WORDS[loc["level"]], "drifting" if loc["drifting"] else "-", _counts(loc),
              *(LEVEL_WORDS.get(loc["domains"].get(d["domain"]), "-") for d in domains)) for loc in locations],
            headers=("location", "level", "drifting", "open", *(d["title"] for d in domains))))
    for store in view["stores"]:
        if store.get("data_end"):
            lines.append(f"{store['provider']}: the newest evidence is dated {_uk(store['data_end'])}; judged as of "
                         "then")
    for failure in view["failures"]:
        lines.append(f"FAILED {failure['provider']} ({failure['store']}): {failure['error']}")
    return "\n".join(lines) + "\n"


def _uk(day: str | None) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}" if day else "-"


def _junit(view: dict) -> str:
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites", name=f"carecheck fleet {view['audit']['ruleset']}")
    by_provider: dict[str, list] = {}
    for loc in view["locations"]:
        by_provider.setdefault(loc["provider"], []).append(loc)
    for store in view["stores"]:
        suite = ET.SubElement(suites, "testsuite", name=store["provider"])
        if store["error"]:
            case = ET.SubElement(suite, "testcase", classname=store["provider"], name="store")
            ET.SubElement(case, "error", message=store["error"])
            continue
        for loc in by_provider.get(store["provider"], []):
            case = ET.SubElement(suite, "testcase", classname=store["provider"], name=loc["location"])
            if loc["level"] in ("not_assured", "partly_assured"):
                ET.SubElement(case, "failure", type=loc["level"],
                              message=LEVEL_WORDS[loc["level"]] + (", drifting" if loc["drifting"] else ""))
    return ET.tostring(suites, encoding="unicode") + "\n"


def _html(view: dict, where: Path) -> str:
    """A self-contained, script-free page: providers' locations by domain, drifting ones first, each
    provider linking to its pack when --packs wrote them."""
    import os.path
    from html import escape

    packs = {s["provider"]: os.path.relpath(s["pack"], where) for s in view["stores"] if s.get("pack")}

    def provider_cell(provider: str) -> str:
        if provider in packs:
            return f"<a href='{escape(packs[provider])}'>{escape(provider)}</a>"
        return escape(provider)

    audit = view["audit"]
    domains = _domains(view)
    head = "".join(f"<th>{escape(d['title'])}</th>" for d in domains)
    newest = {store["provider"]: store.get("newest_evidence") for store in view["stores"]}
    provider_rows = "".join(
        f"<tr><td>{provider_cell(p['provider'])}</td>"
        f"<td class='{escape(str(p['lowest_level']))}'>{'FAILED' if p['error'] else escape(LEVEL_WORDS.get(p['lowest_level'], '-'))}</td>"
        f"<td>{escape(p['error'] or _spread(p['levels']))}</td><td class='num'>{p['drifting']}</td>"
        f"<td>{escape(_counts(p))}</td><td>{_uk(p.get('newest_evidence'))}</td><td>{escape(p['why'] or '-')}</td></tr>"
        for p in _providers(view))
    sections = []
    for provider, locations in _by_provider(view).items():
        body = []
        for loc in locations:
            cells = "".join(f"<td class='{escape(str(loc['domains'].get(d['domain'])))}'>"
                            f"{escape(LEVEL_WORDS.get(loc['domains'].get(d['domain']), '-'))}</td>" for d in domains)
            body.append(f"<tr><td>{escape(loc['location'])}</td>"
                        f"<td class='{escape(str(loc['level']))}'>{escape(LEVEL_WORDS[loc['level']])}</td>"
                        f"<td>{'drifting' if loc['drifting'] else '-'}</td><td>{escape(_counts(loc))}</td>{cells}</tr>")
        sections.append(f"<h2>{provider_cell(provider)}</h2><p>Evidence to {_uk(newest.get(provider))}.</p>"
                        f"<table><tr><th>location</th><th>level</th><th>drifting</th><th>open</th>{head}</tr>"
                        f"{''.join(body)}</table>")
    failures = "".join(f"<li>{escape(f['provider'])}: {escape(f['error'])}</li>" for f in view["failures"])
    ended = "".join(f"<li>{escape(s['provider'])}: the newest evidence is dated {_uk(s['data_end'])}; judged as of "
                    "then</li>" for s in view["stores"] if s.get("data_end"))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>carecheck fleet</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:.3em .6em}.not_assured{background:#f8d7da}.partly_assured{background:#fff3cd}"
        ".assured,.assured_sustained{background:#d1e7dd}</style></head><body>"
        f"<h1>Fleet overview: {escape(audit['ruleset'])}, as of {escape(audit['as_of'])}</h1>"
        f"<p>{audit['stores']} providers' stores, {audit['failed']} failed; {view['drifting']} locations drifting "
        "(a target deteriorating). Providers first, failed stores and the lowest level first; then each provider's "
        "locations, drifting ones first. This is providers' internal assurance, not a CQC rating.</p>"
        "<table class='providers'><tr><th>provider</th><th>lowest level</th><th>locations by level</th>"
        f"<th>drifting</th><th>open</th><th>evidence to</th><th>why</th></tr>{provider_rows}</table>"
        + "".join(sections)
        + (f"<h2>Evidence that ended early</h2><ul>{ended}</ul>" if ended else "")
        + (f"<h2>Stores that failed</h2><ul>{failures}</ul>" if failures else "")
        + f"<p>Fleet run {escape(audit['fleet_run_id'])}, carecheck {escape(audit['carecheck_version'])}, "
        f"{escape(audit['scheduler'])}.</p></body></html>\n")
