"""The medicines plugin: its record kind imports, and its domain's figures and escalations are the
ones worked out by hand from the records below (as of 30 June 2026, the current period June)."""

import json

from click.testing import CliRunner

from carecheck import plugin_manager
from carecheck.cli import build_cli

import carecheck_medicines

SERVICES = "id,service,service_type\nS1,Oak House,residential\n"
# A2 refused with a reason, A3 missed with none (and an error nobody reviewed), A4 an error reviewed
# the same day, A5 omitted with a reason. Staff ST2 made two errors (A3, A4).
MAR = """id,service,person_id,medicine,scheduled_at,given_at,outcome,reason,error,error_reviewed_at,staff_id
A1,Oak House,P1,Paracetamol,01/06/2026 08:00,01/06/2026 08:05,given,,,,ST1
A2,Oak House,P1,Paracetamol,01/06/2026 12:00,,refused,declined,,,ST1
A3,Oak House,P2,Metformin,02/06/2026 08:00,,missed,,yes,,ST2
A4,Oak House,P2,Metformin,05/06/2026 08:00,05/06/2026 09:30,given,,yes,05/06/2026 16:00,ST2
A5,Oak House,P3,Warfarin,12/06/2026 18:00,,omitted,out_of_stock,,,ST3
"""
AUDITS = "id,service,audit_date,audit_type,result\nAU1,Oak House,28/06/2026,medication,good\n"


def carecheck(*args):
    result = CliRunner().invoke(build_cli(), [str(arg) for arg in args])
    assert result.exit_code in (0, 1), result.output
    return result


def store(tmp_path, mar=MAR):
    db = tmp_path / "meds.db"
    for name, text, kind in (("services.csv", SERVICES, "service"), ("mar.csv", mar, "medication_administration"),
                             ("audits.csv", AUDITS, "audit")):
        (tmp_path / name).write_text(text)
        carecheck("import", tmp_path / name, "--kind", kind, "--db", db)
    return db


def medicines_domain(verdict):
    (domain,) = [d for d in verdict["domains"] if d["domain"] == "medicines_management"]
    return domain


def june(domain, target):
    (spec,) = [t for t in domain["targets"] if t["id"] == target]
    (period,) = [p for p in spec["periods"] if p["period"] == "2026-06"]
    return period["numerator"], period["denominator"], period["failures"]


def test_the_plugin_provides_a_record_kind_and_a_domain(medicines):
    assert plugin_manager.get_record_kinds()["medication_administration"].plugin == "medicines"
    assert "medicines_management" in plugin_manager.get_domains()
    assert plugin_manager.failures() == []


def test_mar_entries_import_and_are_counted(medicines, tmp_path):
    db = store(tmp_path)
    counts = json.loads(carecheck("records", "--db", db, "--json").output)["counts"]
    assert {"kind": "medication_administration", "service": "Oak House", "month": "2026-06", "records": 5} in counts


def test_the_domains_figures_and_escalations(medicines, tmp_path):
    db = store(tmp_path)
    verdict = json.loads(carecheck("run", carecheck_medicines.RULESET, "--db", db, "--as-of", "30/06/2026",
                                   "--format", "json").output)
    domain = medicines_domain(verdict)
    assert june(domain, "med_reason_recorded") == (2, 3, ["A3"])
    assert june(domain, "med_error_review_1wd") == (1, 2, ["A3"])
    assert june(domain, "med_monthly_audit")[:2] == (1, 1)
    fired = {e["rule"]: e["records"] for e in verdict["escalations"] if e["domain"] == "medicines_management"}
    assert fired == {"med_competency_reassessment": ["A3", "A4"], "med_unexplained_doses": ["A3"],
                     "med_errors_unreviewed": ["A3"]}


def test_one_error_each_is_no_reason_to_reassess(medicines, tmp_path):
    db = store(tmp_path, MAR.replace("yes,05/06/2026 16:00,ST2", "yes,05/06/2026 16:00,ST9"))
    verdict = json.loads(carecheck("run", carecheck_medicines.RULESET, "--db", db, "--as-of", "30/06/2026",
                                   "--format", "json").output)
    rules = {e["rule"] for e in verdict["escalations"] if e["domain"] == "medicines_management"}
    assert "med_competency_reassessment" not in rules
    assert "med_unexplained_doses" in rules
