"""Evidence is never destroyed: outputs never replace a store or a device, only carecheck stores are
opened (and checked for what carecheck did not make), the demo replaces only its own store, and a
domain reads only the kinds it declares, whatever the shape of its SQL."""

import hashlib
import os
import shutil
import sqlite3
import stat
import sys

import pytest

from builders import add
from carecheck import hookimpl
from carecheck.store.trust import APPLICATION_ID, FLEET_APPLICATION_ID


def _fingerprint(path):
    """The file's bytes and mode, to show it is untouched."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode)


def _one_line_error(result, *phrases):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


@pytest.fixture
def store(demo_copy):
    """A copy of the three stories' store, with its runs."""
    return demo_copy


# -- 1. an output path never replaces a store, a database or a device ------------------------------

@pytest.mark.parametrize("command", [
    ["run", "--as-of", "2026-08-31"],
    ["report", "LATEST"],
    ["actions"],
])
def test_output_naming_the_store_is_refused_and_the_store_is_untouched(store, run_cli, command):
    before = _fingerprint(store)
    args = [a if a != "LATEST" else _latest_run(store) for a in command]
    result = run_cli(*args, "--db", store, "-o", store)
    _one_line_error(result, str(store), "is the evidence store this command reads")
    assert _fingerprint(store) == before


def _latest_run(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def test_output_naming_another_sqlite_file_or_a_store_through_a_symlink_is_refused(store, run_cli, tmp_path):
    other = tmp_path / "places.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE moz_places (url TEXT)")
    conn.commit()
    conn.close()
    link = tmp_path / "report.md"
    link.symlink_to(store)
    for target in (other, link):
        before = _fingerprint(other), _fingerprint(store)
        result = run_cli("run", "--db", store, "--as-of", "2026-08-31", "-o", target)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and str(target) in result.stderr
        assert (_fingerprint(other), _fingerprint(store)) == before
    assert link.is_symlink()


def test_mapping_suggest_output_naming_a_store_is_refused(store, run_cli, incidents_csv):
    before = _fingerprint(store)
    result = run_cli("mapping", "suggest", incidents_csv, "--kind", "incident", "-o", store)
    _one_line_error(result, "is a SQLite database")
    assert _fingerprint(store) == before


def test_output_to_a_folder_or_a_missing_folder_is_refused_before_any_work(store, run_cli, tmp_path):
    runs_before = _runs(store)
    _one_line_error(run_cli("actions", "--db", store, "-o", tmp_path / "missing" / "a.csv"), "does not exist")
    result = run_cli("run", "--db", store, "--as-of", "2026-08-31", "-o", tmp_path / "missing" / "r.md")
    _one_line_error(result, "does not exist")
    assert _runs(store) == runs_before  # refused before the run was made and stored


def _runs(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("device", ["/dev/null"])
def test_a_character_device_is_written_in_place_and_stays_a_device(store, tmp_path, device):
    import subprocess

    before = os.stat(device)
    for command in (["run", "--as-of", "2026-08-31"], ["actions"]):
        done = subprocess.run([sys.executable, "-m", "carecheck", *command, "--db", str(store), "-o", device],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and (after.st_mode, after.st_rdev, after.st_ino) == (
        before.st_mode, before.st_rdev, before.st_ino)


def test_dev_stdout_writes_to_the_shells_stream(store, tmp_path):
    import subprocess

    out = tmp_path / "out.csv"
    with open(out, "w") as handle:
        os.chmod(out, 0o644)
        done = subprocess.run([sys.executable, "-m", "carecheck", "actions", "--db", str(store), "-o", "/dev/stdout"],
                              stdout=handle, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8-sig").startswith("Id,Kind,Service")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # the shell's file, written in place
    with subprocess.Popen([sys.executable, "-m", "carecheck", "actions", "--db", str(store), "-o", "/dev/stdout"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        piped, _ = process.communicate()
    assert process.returncode == 0 and piped.decode("utf-8-sig").startswith("Id,Kind,Service")


def test_outputs_are_owner_only(store, run_cli, tmp_path):
    report = tmp_path / "pack.html"
    assert run_cli("run", "--db", store, "--as-of", "2026-08-31", "--format", "html", "-o", report).exit_code == 0
    tracker = tmp_path / "actions.xlsx"
    assert run_cli("actions", "--db", store, "--format", "xlsx", "-o", tracker).exit_code == 0
    assert {stat.S_IMODE(report.stat().st_mode), stat.S_IMODE(tracker.stat().st_mode)} == {0o600}


# -- 2. the demo replaces only its own store -------------------------------------------------------

def test_demo_refuses_to_replace_a_real_store(store, run_cli):
    before = _fingerprint(store)
    result = run_cli("demo", "--db", store)
    _one_line_error(result, str(store), "not a store made by carecheck demo")
    assert _fingerprint(store) == before


def test_demo_replaces_its_own_store_and_refuses_other_files(run_cli, tmp_path):
    path = tmp_path / "demo.db"
    assert run_cli("demo", "--db", path).exit_code == 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM store_info WHERE key = 'made_by'").fetchone() == ("carecheck demo",)
    conn.close()
    assert run_cli("demo", "--db", path).exit_code == 0  # the demo's own store is replaced
    text = tmp_path / "notes.txt"
    text.write_text("mine\n")
    before = _fingerprint(text)
    _one_line_error(run_cli("demo", "--db", text), "not a store made by carecheck demo")
    assert _fingerprint(text) == before


def test_demo_replaces_an_older_demo_store_known_by_its_imports(run_cli, tmp_path):
    """A demo store made before stores recorded their maker (no store_info, no application id) is
    still the demo's: every import came from the demo's generated export."""
    path = tmp_path / "carecheck-demo.db"
    assert run_cli("demo", "--db", path).exit_code == 0
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE store_info")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm015_store_info'")
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()
    result = run_cli("demo", "--db", path)
    assert result.exit_code == 0, result.stderr
    assert _application_id(path) == APPLICATION_ID
    # An older store with one import of the user's own is not the demo's.
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE store_info")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm015_store_info'")
    conn.execute("PRAGMA application_id = 0")
    conn.execute("INSERT INTO imports (source_file, kind) VALUES ('/home/manager/incidents.csv', 'incident')")
    conn.commit()
    conn.close()
    before = _fingerprint(path)
    _one_line_error(run_cli("demo", "--db", path), "not a store made by carecheck demo")
    assert _fingerprint(path) == before


# -- 3. commands open only carecheck stores --------------------------------------------------------

def _foreign_sqlite(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    conn.commit()
    conn.close()
    os.chmod(path, 0o644)
    return path


@pytest.mark.parametrize("command", [["records"], ["runs"], ["history"], ["run", "--as-of", "2026-08-31"],
                                     ["actions"], ["prune", "--keep", "1"]])
def test_a_reading_command_leaves_another_applications_database_unchanged(run_cli, tmp_path, command):
    path = _foreign_sqlite(tmp_path / "places.sqlite")
    before = _fingerprint(path)
    result = run_cli(*command, "--db", path)
    _one_line_error(result, str(path), "not a carecheck store")
    assert _fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["places.sqlite"]  # no -wal or -shm made


def test_an_import_into_another_applications_database_is_refused(run_cli, tmp_path, incidents_csv):
    path = _foreign_sqlite(tmp_path / "places.sqlite")
    before = _fingerprint(path)
    _one_line_error(run_cli("import", incidents_csv, "--kind", "incident", "--db", path), "not a carecheck store")
    assert _fingerprint(path) == before


def test_a_symlink_to_a_text_file_keeps_the_files_mode(run_cli, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a store\n")
    os.chmod(text, 0o644)
    link = tmp_path / "link.db"
    link.symlink_to(text)
    before = _fingerprint(text)
    _one_line_error(run_cli("runs", "--db", link), "not a carecheck store")
    assert _fingerprint(text) == before


def test_a_new_store_carries_the_application_id_and_an_older_one_is_stamped_on_its_first_write(
        run_cli, tmp_path, incidents_csv, store):
    path = tmp_path / "new.db"
    assert run_cli("import", incidents_csv, "--kind", "incident", "--db", path).exit_code == 0
    assert _application_id(path) == APPLICATION_ID
    # A store made before the id existed: recognised by its tables, stamped when next opened to write.
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()
    assert run_cli("records", "--db", store).exit_code == 0
    assert _application_id(store) == APPLICATION_ID


def _application_id(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA application_id").fetchone()[0]
    finally:
        conn.close()


# -- 7. a store's own schema never runs ------------------------------------------------------------

FOREIGN_OBJECTS = {
    "trigger": ("CREATE TRIGGER wipe AFTER INSERT ON runs BEGIN DELETE FROM incident; END", "trigger 'wipe'"),
    "view": ("CREATE VIEW everything AS SELECT * FROM incident", "view 'everything'"),
    "generated column": ("ALTER TABLE incident ADD COLUMN shout TEXT GENERATED ALWAYS AS (upper(service)) VIRTUAL",
                         "generated column incident.shout"),
    "expression index": ("CREATE INDEX lowered ON incident (lower(service))", "expression index 'lowered'"),
    "partial index": ("CREATE INDEX harmed ON incident (service) WHERE harm_level = 'severe'", "partial index 'harmed'"),
    "retyped column": None,
}


def _plant(path, sql):
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()


def _incidents(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM incident").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("kind", [k for k, v in FOREIGN_OBJECTS.items() if v])
@pytest.mark.parametrize("command", [["run", "--as-of", "2026-08-31"], ["records"], ["import", "CSV", "--kind",
                                                                                       "incident"]])
def test_a_store_holding_what_carecheck_did_not_make_is_refused_with_its_records_intact(
        store, run_cli, incidents_csv, kind, command):
    sql, named = FOREIGN_OBJECTS[kind]
    incidents = _incidents(store)
    _plant(store, sql)
    before = _fingerprint(store)
    args = [str(incidents_csv) if a == "CSV" else a for a in command]
    result = run_cli(*args, "--db", store)
    _one_line_error(result, str(store), named, f"carecheck doctor {store}")
    assert _fingerprint(store) == before
    assert _incidents(store) == incidents


def test_the_trigger_that_deleted_every_incident_never_runs(store, run_cli):
    incidents = _incidents(store)
    assert incidents > 0
    _plant(store, FOREIGN_OBJECTS["trigger"][0])
    assert run_cli("run", "--db", store, "--as-of", "2026-08-31").exit_code == 2
    assert _incidents(store) == incidents


def test_doctor_names_every_finding_and_changes_nothing(store, run_cli):
    for kind, value in FOREIGN_OBJECTS.items():
        if value:
            _plant(store, value[0])
    _plant(store, "CREATE INDEX by_reporter ON incident (reported_at)")
    before = _fingerprint(store)
    result = run_cli("doctor", store)
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    for kind, value in FOREIGN_OBJECTS.items():
        if value:
            assert sum(value[1] in line and ": refused: " in line for line in lines) == 1, (kind, lines)
    assert any(": note: index 'by_reporter' on incident (reported_at)" in line for line in lines)
    assert lines[-1] == f"{store}: 5 finding(s) stop carecheck"
    assert _fingerprint(store) == before


def test_doctor_passes_a_clean_store_and_refuses_a_text_file(store, run_cli, tmp_path):
    result = run_cli("doctor", store)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"{store}: a carecheck store", f"{store}: no finding stops carecheck"]
    text = tmp_path / "a.txt"
    text.write_text("hello")
    result = run_cli("doctor", text)
    assert result.exit_code == 2 and result.stdout == f"{text}: refused: not a carecheck store (not a SQLite database)\n"


def test_a_foreign_plain_index_is_allowed_with_a_note(store, run_cli):
    _plant(store, "CREATE INDEX by_reporter ON incident (reported_at)")
    result = run_cli("records", "--db", store)
    assert result.exit_code == 0
    assert f"Note: {store}: index 'by_reporter' on incident (reported_at) is not one carecheck makes; kept" in \
        result.stderr


def test_every_store_connection_distrusts_the_schema(store):
    from carecheck.store import open_read_only, open_store

    for db in (open_store(store, create=False), open_read_only(store)):
        try:
            assert db.execute("PRAGMA trusted_schema").fetchone() == (0,)
        finally:
            db.close()


# -- 6. a domain reads only what it declares, whatever the shape -----------------------------------

def _probe(queries, seen):
    """A domain declaring only ``incident`` that runs each query through ``Context.rows``."""
    from carecheck.domain_api import Domain, TargetSpec

    class Probe(Domain):
        name = "probe"
        title = "Probe"
        reads = ("incident",)
        targets = (TargetSpec("probe_rate", "Probe", "rate", 0.9, ("incident",), "A probe."),)

        def outcomes(self, ctx):
            for sql in queries:
                seen[sql] = list(ctx.rows(sql))
            return iter(())

        def signal_values(self, ctx):
            return {}

    class Plugin:
        @hookimpl
        def carecheck_register_domains(self, register):
            register(Probe())

    return Plugin()


def _probe_store(db, tmp_path):
    for service_id, name in (("S1", "Oak"), ("S2", "Elm")):
        add(db, "service", id=service_id, service=name, service_type="residential")
        add(db, "incident", id=f"I-{service_id}", service=name, occurred_at="01/06/2026 09:00", cause="fall")
        add(db, "daily_note", id=f"N-{service_id}", service=name, person_id="P1", written_at="01/06/2026 10:00",
            note="SECRET daily note text")
        add(db, "feedback", id=f"F-{service_id}", service=name, received_at="01/06/2026", source="family",
            comments="SECRET comment")
    db.close()
    ruleset = tmp_path / "probe.yaml"
    ruleset.write_text("name: probe\ndomains:\n  probe: {}\n")
    return ruleset


#: Every join type with ON, USING and NATURAL, subqueries, CTEs, windows, table-valued functions,
#: the schema table, ATTACH and temp objects: each reads a kind the probe did not declare.
FORBIDDEN = [
    "SELECT note FROM (SELECT NULL AS note) FULL JOIN daily_note USING (note)",
    "SELECT note FROM (SELECT NULL AS note) LEFT JOIN daily_note USING (note)",
    "SELECT note FROM (SELECT NULL AS note) RIGHT JOIN daily_note USING (note)",
    "SELECT note FROM (SELECT NULL AS note) NATURAL FULL JOIN daily_note",
    "SELECT note FROM (SELECT NULL AS note) NATURAL JOIN daily_note",
    "SELECT comments FROM (SELECT NULL AS comments) FULL JOIN feedback USING (comments)",
    "SELECT count(*) FROM incident JOIN daily_note USING (service)",
    "SELECT count(*) FROM incident NATURAL JOIN daily_note",
    "SELECT count(*) FROM incident JOIN daily_note ON 1",
    "SELECT count(*) FROM incident CROSS JOIN daily_note",
    "SELECT count(*) FROM incident LEFT JOIN daily_note ON incident.service = daily_note.service",
    "SELECT count(*) FROM incident, daily_note",
    "SELECT count(*) FROM daily_note",
    "SELECT (SELECT count(*) FROM daily_note)",
    "SELECT id FROM incident WHERE EXISTS (SELECT 1 FROM daily_note)",
    "SELECT id FROM incident WHERE service IN (SELECT service FROM daily_note)",
    "WITH n AS (SELECT * FROM daily_note) SELECT count(*) FROM n",
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r, daily_note WHERE x < 3) SELECT count(*) FROM r",
    "SELECT count(*) OVER () FROM daily_note",
    "SELECT count(*) FROM json_each('[1]') JOIN daily_note",
    "SELECT count(*) FROM pragma_table_info('daily_note')",
    "SELECT * FROM pragma_table_list",
    "SELECT name FROM sqlite_schema",
    "SELECT name FROM sqlite_master",
    "SELECT count(*) FROM main.daily_note",
    "SELECT count(*) FROM temp.sqlite_schema",
    "ATTACH DATABASE ':memory:' AS other",
    "SELECT load_extension('x')",
    "CREATE TEMP TABLE scratch AS SELECT * FROM daily_note",
    "CREATE TEMP VIEW scratch AS SELECT * FROM daily_note",
]


@pytest.mark.parametrize("sql", FORBIDDEN)
def test_no_query_shape_reads_an_undeclared_kind(register_plugin, db, db_path, tmp_path, run_cli, sql):
    seen = {}
    register_plugin(_probe([sql], seen), "carecheck-probe")
    ruleset = _probe_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 2, (sql, seen, result.stdout[:200])
    assert result.stderr.startswith("Error: domain 'probe' of plugin carecheck-probe "), result.stderr
    assert result.stderr.count("\n") == 1
    assert "SECRET" not in result.stdout + result.stderr
    assert sql not in seen  # no rows reached the domain


ALLOWED = [
    "SELECT id FROM incident ORDER BY id",
    "SELECT a.id, b.id FROM incident a JOIN incident b USING (service) ORDER BY a.id",
    "SELECT a.id FROM incident a NATURAL JOIN incident b ORDER BY a.id",
    "SELECT a.id, b.id FROM incident a FULL JOIN incident b ON a.id = b.id ORDER BY a.id",
    "SELECT a.id FROM incident a LEFT JOIN incident b ON a.service = b.service AND a.id < b.id ORDER BY a.id",
    "SELECT id FROM incident WHERE service IN (SELECT service FROM incident WHERE cause = 'fall') ORDER BY id",
    "WITH i AS (SELECT id, service FROM incident) SELECT service, count(*) FROM i GROUP BY service ORDER BY service",
    "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 3) "
    "SELECT x, (SELECT count(*) FROM incident) FROM r",
    "SELECT id, row_number() OVER (PARTITION BY service ORDER BY id) FROM incident ORDER BY id",
    "SELECT incident.id, j.value FROM incident, json_each('[1,2]') AS j ORDER BY incident.id, j.value",
    "SELECT count(*) FROM json_tree('{\"a\": [1, 2]}')",
    "SELECT id FROM main.incident ORDER BY id",
]


@pytest.mark.parametrize("sql", [FORBIDDEN[0], FORBIDDEN[6], FORBIDDEN[7], FORBIDDEN[20], FORBIDDEN[22],
                                 "SELECT count(*) FROM main.incident"])
def test_under_workers_no_query_shape_reads_outside_the_workers_share(register_plugin, db, db_path, tmp_path, run_cli,
                                                                      sql):
    seen = {}
    register_plugin(_probe([sql], seen), "carecheck-probe")
    ruleset = _probe_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--workers", "2")
    assert result.exit_code == 2, (sql, seen)
    assert result.stderr.startswith("Error: domain 'probe' of plugin carecheck-probe "), result.stderr
    assert "SECRET" not in result.stdout + result.stderr


def test_every_shape_over_the_declared_kind_returns_what_it_returns_unguarded(register_plugin, db, db_path, tmp_path,
                                                                               run_cli):
    seen = {}
    register_plugin(_probe(ALLOWED, seen), "carecheck-probe")
    ruleset = _probe_store(db, tmp_path)
    result = run_cli("run", ruleset, "--db", db_path, "--as-of", "2026-07-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    plain = sqlite3.connect(db_path)
    for sql in ALLOWED:
        assert seen[sql] == plain.execute(sql).fetchall(), sql
    plain.close()
    assert seen["SELECT id FROM incident ORDER BY id"] == [("I-S1",), ("I-S2",)]


# -- 5. and 8.: the fleet -------------------------------------------------------------------------

def test_pack_names_never_collide():
    from pathlib import Path

    from carecheck.fleet import StoreJob, pack_names

    jobs = [StoreJob("/stores/a/oak.db", "Oak House"), StoreJob("/stores/b/oak.db", "Oak-House"),
            StoreJob("/stores/elm.db", "Elm")]
    names = pack_names(jobs, Path("/packs"))
    assert len(set(names.values())) == 3
    assert names["/stores/elm.db"] == "/packs/Elm.html"
    assert all(name.startswith("/packs/Oak-House-") for store, name in names.items() if "oak" in store)


def test_plan_jobs_skips_the_fleet_database_and_checks_a_store_listed_twice_once(tmp_path, store):
    from carecheck.fleet import StoreJob, plan_jobs

    fleet_db = tmp_path / "fleet.db"
    conn = sqlite3.connect(fleet_db)
    conn.execute(f"PRAGMA application_id = {FLEET_APPLICATION_ID}")
    conn.execute("CREATE TABLE fleet_runs (fleet_run_id TEXT)")
    conn.commit()
    conn.close()
    other_fleet = tmp_path / "old-fleet.db"
    shutil.copy(fleet_db, other_fleet)
    twin = tmp_path / "twin.db"
    os.link(store, twin)
    jobs = [StoreJob(str(store), "a"), StoreJob(str(twin), "b"), StoreJob(str(fleet_db), "fleet"),
            StoreJob(str(other_fleet), "old-fleet")]
    kept, notes = plan_jobs(jobs, fleet_db)
    assert [job.provider for job in kept] == ["a"]
    assert notes == [f"Warning: {twin} (b) is the same file as {store} (a); checked once",
                     f"Note: {fleet_db}: a fleet database, not a provider's store; skipped",
                     f"Note: {other_fleet}: a fleet database, not a provider's store; skipped"]
