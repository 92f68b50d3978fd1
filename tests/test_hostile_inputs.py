"""Hostile and accidental inputs are the user's to fix, never "a bug in carecheck": each gives exit 2
and one line naming the file (and row, key or entry), with nothing half-written. The bombs run in
a subprocess under a memory limit and a timeout, either of which fails the test."""

import json
import os
import resource
import sqlite3
import struct
import subprocess
import sys
import zipfile
import zlib

import pytest

from builders import write_csv

HUGE = "9" * 5000


def _one_line(result, *phrases):
    assert result.exit_code == 2, (result.exit_code, result.stdout[-300:], result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    assert "internal error" not in result.stderr


def _bounded(*args, memory_mb=300, timeout=5, cwd=None):
    """carecheck in a subprocess under an address-space limit and a timeout."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = {k: v for k, v in os.environ.items() if k != "CARECHECK_RAISE_ERRORS"}
    return subprocess.run([sys.executable, "-m", "carecheck", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, cwd=cwd, env=env)


# -- numbers too long to read -------------------------------------------------------------------

def test_a_huge_integer_in_a_ruleset_is_a_one_line_error(run_cli, demo_copy, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: x\nextends: cqc-recovery\nmax_periods: {HUGE}\n")
    _one_line(run_cli("run", path, "--db", demo_copy), str(path), "line 3: an integer of more than 30 digits")
    result = run_cli("validate", path)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "more than 30 digits" in result.stderr


def test_a_huge_integer_in_waivers_and_a_manifest(run_cli, demo_copy, tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text(f"- target: po_monthly_visit\n  justification: {HUGE}0\n  approved_by: NI\n  expires: {HUGE}\n")
    _one_line(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--waivers", waivers), str(waivers),
              "more than 30 digits")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"files:\n  - path: a.csv\n    kind: incident\n    options: {{header_row: {HUGE}}}\n")
    _one_line(run_cli("import", "--manifest", manifest, "--db", tmp_path / "s.db"), str(manifest),
              "more than 30 digits")
    assert not (tmp_path / "s.db").exists()


def test_a_huge_integer_in_json_refuses_the_file_and_in_json_lines_only_its_row(run_cli, tmp_path):
    whole = tmp_path / "incidents.json"
    whole.write_text(f'[{{"id": "I1", "service": "Oak", "occurred_at": "2026-04-02", "count": {HUGE}}}]')
    _one_line(run_cli("import", whole, "--kind", "incident", "--db", tmp_path / "a.db"), str(whole),
              "an integer of more than 30 digits")
    lines = tmp_path / "incidents.jsonl"
    lines.write_text('{"id": "I1", "service": "Oak", "occurred_at": "2026-04-02"}\n'
                     f'{{"id": "I2", "service": "Oak", "occurred_at": "2026-04-03", "n": {HUGE}}}\n'
                     '{"id": "I3", "service": "Oak", "occurred_at": "2026-04-04"}\n')
    store = tmp_path / "b.db"
    result = run_cli("import", lines, "--kind", "incident", "--db", store)
    assert result.exit_code == 0, result.stderr
    assert "3 rows read = 2 accepted + 1 rejected" in result.stdout
    conn = sqlite3.connect(store)
    assert [r[0] for r in conn.execute("SELECT id FROM incident ORDER BY id")] == ["I1", "I3"]
    assert conn.execute("SELECT row, reason FROM rejected_rows").fetchall() == [
        (2, "an integer of more than 30 digits")]
    conn.close()


# -- rulesets ------------------------------------------------------------------------------------

def test_a_trigger_nested_900_deep_is_a_syntax_error_naming_the_rule(run_cli, tmp_path):
    path = tmp_path / "r.yaml"
    deep = "(" * 900 + "repeated_incidents > 0" + ")" * 900
    path.write_text("name: x\nextends: cqc-recovery\ndomains:\n  incident_learning:\n    escalations:\n"
                    f"      deep:\n        when: \"{deep}\"\n        action: Look\n        owner: registered_manager\n"
                    "        due_working_days: 2\n")
    result = run_cli("validate", path)
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "escalations.deep" in line and "nested more than 64 levels deep" in line


def test_a_bad_pattern_and_a_bad_closures_file_are_found_by_validate_and_never_reach_a_run(run_cli, demo_copy,
                                                                                            tmp_path):
    latin = tmp_path / "closures.txt"
    latin.write_bytes("25/12/2026 # Noël\n".encode("cp1252"))
    for closures, said in (("missing.txt", "no such closures file"), (latin.name, "is not UTF-8 text")):
        path = tmp_path / "r.yaml"
        path.write_text(f"name: x\nextends: cqc-recovery\nclosures_file: {closures}\ndomains:\n"
                        "  safeguarding_recording:\n    parameters:\n      timeline_pattern: '([0-9'\n")
        result = run_cli("validate", path)
        assert result.exit_code == 2
        assert sorted(result.stderr.strip().splitlines()) == [
            f"{path}: closures_file: {tmp_path / closures}: {said}" if said == "no such closures file" else
            f"{path}: closures_file: {tmp_path / closures}: the closures file {said}",
            f"{path}: domains.safeguarding_recording.parameters.timeline_pattern: not a valid regular expression "
            "(unterminated character set at position 1)",
        ]
        run = run_cli("run", path, "--db", demo_copy, "--as-of", "2026-08-31")
        _one_line(run, "closures_file")


ALIAS_BOMB = ("name: bomb\nextends: cqc-recovery\nnot_a_key:\n"
              "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
              + "".join(f"  {chr(98 + n)}: &{chr(98 + n)} [" + ", ".join([f"*{chr(97 + n)}"] * 9) + "]\n"
                        for n in range(8)))


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, demo_copy):
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    assert path.stat().st_size < 1000  # 9^9 = 387 million values once expanded
    done = _bounded("validate", path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"{path}: refused: its aliases expand it past 10,000 values"
    done = _bounded("run", path, "--db", demo_copy)
    assert done.returncode == 2 and "its aliases expand it past 10,000 values" in done.stderr


def test_anchors_and_aliases_within_the_budget_still_work(run_cli, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: x\nextends: cqc-recovery\ndomains:\n  incident_learning:\n    targets: &strict\n"
                    "      inc_review_5wd: {threshold: 0.9}\n")
    assert run_cli("validate", path).exit_code == 0


# -- workbooks -----------------------------------------------------------------------------------

def _workbook(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["id", "service", "service_type"])
    book.active.append(["S1", "Oak", "residential"])
    path = tmp_path / "good.xlsx"
    book.save(path)
    return path


def _rewrite(source, target, part, change):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data) if item.filename == part else data)
    return target


def _without_declaration(data: bytes) -> bytes:
    return data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lollollollollollollollollollol">'
          + b"".join(b'<!ENTITY ' + bytes([98 + n]) + b' "' + (b"&" + bytes([97 + n]) + b";") * 10 + b'">'
                     for n in range(9)) + b"]>")


def test_a_dtd_entity_bomb_in_a_workbook_is_refused_within_bounds(tmp_path):
    bomb = _rewrite(_workbook(tmp_path), tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml",
                    lambda d: LAUGHS + _without_declaration(d).replace(b"<v>", b"<v>&j;", 1))
    done = _bounded("import", bomb, "--kind", "service", "--db", tmp_path / "s.db")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"Error: {bomb}: not a readable Excel workbook (it declares XML entities or a "
                                   "document type, which carecheck refuses)")
    assert not (tmp_path / "s.db").exists()


def test_external_entities_encryption_and_forged_sheet_names_in_workbooks(run_cli, tmp_path):
    good = _workbook(tmp_path)
    external = _rewrite(good, tmp_path / "external.xlsx", "xl/worksheets/sheet1.xml",
                        lambda d: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                        + _without_declaration(d).replace(b"<v>", b"<v>&e;", 1))
    _one_line(run_cli("import", external, "--kind", "service", "--db", tmp_path / "a.db"),
              "declares XML entities")
    raw = bytearray(good.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):  # the encrypted-entry flag on each entry
        at = 0
        while (at := raw.find(signature, at)) >= 0:
            struct.pack_into("<H", raw, at + offset, struct.unpack_from("<H", raw, at + offset)[0] | 1)
            at += 4
    encrypted = tmp_path / "encrypted.xlsx"
    encrypted.write_bytes(bytes(raw))
    _one_line(run_cli("import", encrypted, "--kind", "service", "--db", tmp_path / "b.db"), str(encrypted),
              "encrypted parts")
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Sheet\nError - forged line"
    book.active.append(["id"])
    forged = tmp_path / "forged.xlsx"
    book.save(forged)
    _one_line(run_cli("import", forged, "--kind", "service", "--db", tmp_path / "c.db", "--option", "sheet=Other"),
              r"'Sheet\nError - forged line'")


def test_a_value_with_control_characters_stays_on_one_line(run_cli, tmp_path):
    path = write_csv(tmp_path / "s.csv", [["id", "service", "service_type"], ["S1", "Oak", "residential"]])
    result = run_cli("import", path, "--kind", "service", "--db", tmp_path / "s.db", "--option", "sheet=a\nb")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


# -- stores --------------------------------------------------------------------------------------

def test_a_store_with_damaged_pages_is_a_one_line_error_naming_recovery(run_cli, demo_copy):
    conn = sqlite3.connect(demo_copy)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    pages = [row[0] for row in conn.execute(  # every page of the daily notes' table and indexes
        "SELECT pageno FROM dbstat WHERE name = 'daily_note' OR name IN "
        "(SELECT name FROM sqlite_schema WHERE tbl_name = 'daily_note' AND type = 'index')")]
    conn.close()
    assert len(pages) > 3
    with open(demo_copy, "r+b") as handle:
        for page in pages:
            handle.seek((page - 1) * page_size)
            handle.write(b"\x0d" + b"\xff" * 200)
    for command in (["run", "--as-of", "2026-08-31"], ["records"]):
        _one_line(run_cli(*command, "--db", demo_copy), str(demo_copy), "the store is damaged",
                  f"sqlite3 {demo_copy} '.recover'", f"carecheck doctor {demo_copy}")
    doctor = run_cli("doctor", demo_copy)
    assert doctor.exit_code == 2 and ": damaged: " in doctor.stdout


def test_a_stored_verdict_that_inflates_past_its_length_is_refused_within_bounds(demo_copy, tmp_path):
    conn = sqlite3.connect(demo_copy)
    (run_id,) = conn.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()
    bomb = zlib.compress(b" " * (400 << 20), 9)  # 400 MB of spaces in about 400 KB
    conn.execute("UPDATE runs SET verdict_z = ? WHERE run_id = ?", [bomb, run_id])
    conn.commit()
    conn.close()
    done = _bounded("report", run_id, "--db", demo_copy, "--format", "json")
    assert done.returncode == 2, done.stderr[-500:]
    assert done.stderr.strip().splitlines() == [
        f"Error: run {run_id}: its stored verdict inflates past its recorded length "
        f"({_length(demo_copy, run_id):,} bytes); the store is damaged or was altered (carecheck doctor)"]


def _length(store, run_id):
    conn = sqlite3.connect(store)
    try:
        return conn.execute("SELECT verdict_length FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]
    finally:
        conn.close()


def test_a_full_disk_leaves_the_store_as_it_was(run_cli, demo_copy, tmp_path, monkeypatch):
    from carecheck.store import trust as store_trust

    before = _counts(demo_copy)
    real = store_trust.untrusted

    def small(conn):  # the store may grow by two pages: a disk that fills during the write
        real(conn)
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn

    monkeypatch.setattr(store_trust, "untrusted", small)
    rows = [["id", "service", "occurred_at", "cause"]] + [[f"N{n}", "Oak House", "02/04/2026", "fall" * 50]
                                                         for n in range(3000)]
    path = write_csv(tmp_path / "incidents.csv", rows)
    _one_line(run_cli("import", path, "--kind", "incident", "--db", demo_copy), str(demo_copy), "the disk is full")
    _one_line(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31"), str(demo_copy), "the disk is full")
    monkeypatch.setattr(store_trust, "untrusted", real)
    assert _counts(demo_copy) == before


def _counts(store):
    conn = sqlite3.connect(store)
    try:
        return (conn.execute("SELECT count(*) FROM incident").fetchone()[0],
                conn.execute("SELECT count(*) FROM runs").fetchone()[0],
                conn.execute("SELECT count(*) FROM imports").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_an_output_on_a_full_disk_is_a_one_line_error_and_stores_no_run(run_cli, demo_copy):
    before = _counts(demo_copy)
    _one_line(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "-o", "/dev/full"),
              "/dev/full: cannot write the report (No space left on device)")
    _one_line(run_cli("actions", "--db", demo_copy, "--format", "xlsx", "-o", "/dev/full"),
              "/dev/full: cannot write the tracker")
    assert _counts(demo_copy) == before


# -- fleets and engines --------------------------------------------------------------------------

def test_a_fleet_refuses_a_fleet_db_that_is_not_one_before_any_store(run_cli, demo_copy, tmp_path):
    pytest.importorskip("dask.distributed")
    notes = tmp_path / "fleet.db"
    notes.write_text("my notes\n")
    _one_line(run_cli("fleet", "run", "--stores", demo_copy, "--as-of", "2026-08-31", "--fleet-db", notes),
              str(notes), "--fleet-db is a file that is not a fleet database")
    assert notes.read_text() == "my notes\n"
    _one_line(run_cli("fleet", "run", "--stores", demo_copy, "--as-of", "2026-08-31", "--fleet-db",
                      tmp_path / "f.db", "-o", tmp_path / "missing" / "o.html"), "does not exist")


def test_a_windows_1252_store_list_is_read_like_any_other_csv(tmp_path):
    from carecheck.fleet import jobs_from

    listing = tmp_path / "providers.csv"
    listing.write_bytes("store,provider\noak.db,Café £ Homes\n".encode("cp1252"))
    (job,) = jobs_from(None, listing)
    assert job.provider == "Café £ Homes" and job.store == str(tmp_path / "oak.db")


def test_a_missing_rule_engine_is_the_users_situation(run_cli, demo_copy, monkeypatch):
    from carecheck.run import rule_engine

    monkeypatch.setattr(rule_engine, "_durable_engine", None)
    monkeypatch.setattr(rule_engine, "DURABLE_IMPORT_ERROR", "ImportError: no durable_rules_engine")
    _one_line(run_cli("run", "--db", demo_copy, "--as-of", "2026-08-31", "--engine", "durable"),
              "--engine durable: durable-rules cannot be loaded here", "--engine reference")


def test_the_json_report_of_a_huge_verdict_length_is_bounded():
    from carecheck.store.runs import _inflated

    packed = zlib.compress(json.dumps({"a": 1}).encode())
    assert _inflated(packed, 8, "r") == b'{"a": 1}'
