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


def _table(view: dict) -> str:
    from carecheck.reporters.words import tabulate

    audit = view["audit"]
    lines = [f"carecheck fleet run {audit['fleet_run_id']}: ruleset {audit['ruleset']}, as of {audit['as_of']}, "
             f"{audit['stores']} stores, {audit['failed']} failed, {view['drifting']} locations drifting", ""]
    newest = {store["provider"]: store.get("newest_evidence") for store in view["stores"]}
    rows = [(loc["provider"], loc["location"], LEVEL_WORDS[loc["level"]], "DRIFTING" if loc["drifting"] else "",
             _uk(newest.get(loc["provider"])), ", ".join(f"{d}: {LEVEL_WORDS[level]}" for d, level in loc["domains"].items()))
            for loc in view["locations"]]
    lines.append(tabulate(rows, headers=("provider", "location", "level", "", "evidence to", "domains")))
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
    domains = sorted({d for loc in view["locations"] for d in loc["domains"]})
    head = "".join(f"<th>{escape(d.replace('_', ' '))}</th>" for d in domains)
    newest = {store["provider"]: store.get("newest_evidence") for store in view["stores"]}
    body = []
    for loc in view["locations"]:
        cells = "".join(f"<td class='{escape(str(loc['domains'].get(d)))}'>{escape(LEVEL_WORDS[loc['domains'].get(d)])}"
                        "</td>" for d in domains)
        body.append(f"<tr><td>{provider_cell(loc['provider'])}</td><td>{escape(loc['location'])}</td>"
                    f"<td class='{escape(str(loc['level']))}'>{escape(LEVEL_WORDS[loc['level']])}</td>"
                    f"<td>{'drifting' if loc['drifting'] else ''}</td><td>{_uk(newest.get(loc['provider']))}</td>"
                    f"{cells}</tr>")
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
        "(a target deteriorating), listed first. This is providers' internal assurance, not a CQC rating.</p>"
        f"<table><tr><th>provider</th><th>location</th><th>level</th><th></th><th>evidence to</th>{head}</tr>{''.join(body)}</table>"
        + (f"<h2>Evidence that ended early</h2><ul>{ended}</ul>" if ended else "")
        + (f"<h2>Stores that failed</h2><ul>{failures}</ul>" if failures else "")
        + f"<p>Fleet run {escape(audit['fleet_run_id'])}, carecheck {escape(audit['carecheck_version'])}, "
        f"{escape(audit['scheduler'])}.</p></body></html>\n")
