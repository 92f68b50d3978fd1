"""JUnit XML, so carecheck can gate a pipeline or scheduled job.

A ``locations`` suite has one case per location, failing when the location is below assured
(its level in the message). Each domain's suite has one case per location and target (the
location its ``classname``, so a CI tool groups a home's cases together): it fails
when the current period misses the target, or when the target has no evidence there (no records,
or stale); it is skipped when the target is waived there or not judged (no events).
"""

from __future__ import annotations

from carecheck.verdict.statutory import statutory_sentence
from carecheck import hookimpl
from carecheck.reporter_api import Reporter

from carecheck.reporters.words import percent
from carecheck.verdict.levels import NEEDS_ATTENTION


def _case(domain: dict, target: dict, row: dict, period: str | None):
    import xml.etree.ElementTree as ET

    case = ET.Element("testcase", classname=row["service"], name=f"{domain['domain']}.{target['id']}")
    guardrail = target.get("guardrail")
    if guardrail:
        # A loosened guardrail fails the target whatever its figures; a waiver does not lift it.
        ET.SubElement(case, "failure", type="guardrail_breached", message=_breach_words(guardrail))
        return case, "failure"
    waiver = row["waiver"] or target["waiver"]
    current = next((p for p in row["periods"] if p["period"] == period), None)
    if waiver and waiver["applies"]:
        ET.SubElement(case, "skipped", message=f"waived until {waiver['expires']} (approved by {waiver['approved_by']})")
        return case, "skipped"
    if row.get("reason_code") in ("no_records", "stale"):
        ET.SubElement(case, "failure", type="not_evidenced", message=f"not evidenced: {row['reason']}")
        return case, "failure"
    if row.get("carried"):
        carried = next(p for p in row["periods"] if p["period"] == row["carried_from"])
        if carried["met"]:
            return case, "passed"
        ET.SubElement(case, "failure", type="target_missed",
                      message=f"{percent(carried['value'])} against {percent(target['threshold'])} in "
                              f"{row['carried_from']}, carried: no events in {period} ({row['status']})")
        return case, "failure"
    if row["status"] == "insufficient_evidence" or current is None or current["value"] is None:
        ET.SubElement(case, "skipped", message=f"insufficient evidence: {row['reason']}")
        return case, "skipped"
    if not current["met"]:
        failure = ET.SubElement(
            case, "failure", type="target_missed",
            message=f"{percent(current['value'])} against {percent(target['threshold'])} in {period} ({row['status']})",
        )
        failure.text = "Failing: " + ", ".join(current["failures"]) + (
            f" and {current['failures_total'] - len(current['failures'])} more" if current["failures_total"] > len(current["failures"]) else ""
        )
        return case, "failure"
    return case, "passed"


def _breach_words(breach: dict) -> str:
    if breach["kind"] == "required":
        return f"guardrail breached: {breach['parameter']} is disabled (in {breach['file']}) but required"
    bound = "above the most" if breach["kind"] == "max" else "below the least"
    return (f"guardrail breached: {breach['parameter']} is {breach['value']:g} (set in {breach['file']}), {bound} "
            f"allowed, {breach['limit']:g}: the domain is capped at not assured")


def _locations_suite(suites, verdict: dict, totals: dict) -> None:
    import xml.etree.ElementTree as ET

    suite = ET.SubElement(suites, "testsuite", name="locations", timestamp=verdict["audit"]["generated_at"])
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for location in verdict.get("locations", []):
        case = ET.SubElement(suite, "testcase", classname=location["service"], name="level")
        counts["tests"] += 1
        level = location["level"]
        if level is None:
            ET.SubElement(case, "skipped", message="no level: no judged target")
            counts["skipped"] += 1
        elif level in NEEDS_ATTENTION:
            capped = [d["domain"] for d in location.get("domains", [])
                      if any(cap["cap"] == "guardrail" for cap in d.get("level_caps", []))]
            said = f"; guardrail breached in {', '.join(capped)}" if capped else ""
            failure = ET.SubElement(case, "failure", type=level,
                                    message=f"{level.replace('_', ' ')} ({location['level_rule']}){said}")
            if location.get("statutory"):
                failure.text = statutory_sentence(location["statutory"])
            counts["failures"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
        totals[key] += value


def render_junit(verdict: dict) -> str:
    import xml.etree.ElementTree as ET

    period = verdict["periods"]["current"]
    suites = ET.Element("testsuites", name=f"carecheck {verdict['ruleset']['name']}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    _locations_suite(suites, verdict, totals)
    for domain in verdict["domains"]:
        suite = ET.SubElement(suites, "testsuite", name=domain["domain"], timestamp=verdict["audit"]["generated_at"])
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for target in domain["targets"]:
            for row in target["services"]:
                case, outcome = _case(domain, target, row, period)
                suite.append(case)
                counts["tests"] += 1
                if outcome == "failure":
                    counts["failures"] += 1
                elif outcome == "skipped":
                    counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


class JUnitReporter(Reporter):
    name = "junit"
    description = "JUnit XML, one test case per location's level and per location and target, to gate a pipeline"
    extension = ".xml"

    def render(self, verdict: dict) -> str:
        return render_junit(verdict)


@hookimpl
def carecheck_register_reporters(register):
    register(JUnitReporter())
