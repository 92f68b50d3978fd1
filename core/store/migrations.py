"""The evidence store's schema, as sqlite-utils migrations.

Record tables (one per record kind) are not created here: :func:`carecheck.store.sync_record_tables`
creates each from its pydantic model and adds columns when a model gains a field, so a kind added
by a plugin gets its table the same way. The tables below hold what every kind shares.
"""

from sqlite_utils import Database, Migrations

migrations = Migrations("carecheck")


@migrations()
def m001_imports(db: Database) -> None:
    db["imports"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "source_file": str,
            "source_name": str,
            "kind": str,
            "adapter": str,
            "file_hash": str,
            "options_hash": str,
            "rows_read": int,
            "rows_accepted": int,
            "rows_rejected": int,
            "records_new": int,
            "records_changed": int,
            "records_unchanged": int,
        },
        pk="id",
    )
    db["imports"].create_index(["file_hash", "options_hash"])


@migrations()
def m002_rejected_rows(db: Database) -> None:
    db["rejected_rows"].create(
        {"id": int, "import_id": int, "source_file": str, "row": int, "field": str, "reason": str},
        pk="id",
        foreign_keys=[("import_id", "imports", "id")],
    )
    db["rejected_rows"].create_index(["import_id"])


@migrations()
def m003_record_history(db: Database) -> None:
    # The earlier version of a record that a later import changed.
    db["record_history"].create(
        {
            "id": int,
            "kind": str,
            "record_id": str,
            "content_hash": str,
            "data": str,
            "import_id": int,
            "superseded_at": str,
            "superseded_by_import": int,
        },
        pk="id",
    )
    db["record_history"].create_index(["kind", "record_id"])


@migrations()
def m004_runs(db: Database) -> None:
    # Every run is kept, so history and run-to-run differences can be shown.
    db["runs"].create(
        {
            "run_id": str,
            "created_at": str,
            "as_of": str,
            "ruleset": str,
            "ruleset_hash": str,
            "engine": str,
            "score": int,
            "percentage": int,
            "verdict": str,
        },
        pk="run_id",
    )
    db["target_results"].create(
        {
            "run_id": str,
            "domain": str,
            "target": str,
            "service": str,
            "period": str,
            "partial": int,
            "numerator": int,
            "denominator": int,
            "value": float,
            "met": int,
            "status": str,
        },
        foreign_keys=[("run_id", "runs", "run_id")],
    )
    db["target_results"].create_index(["run_id", "target", "service"])
    db["run_failures"].create(
        {"run_id": str, "domain": str, "target": str, "service": str, "period": str, "unit": str},
        foreign_keys=[("run_id", "runs", "run_id")],
    )
    db["run_failures"].create_index(["run_id", "target"])


@migrations()
def m005_run_current_period(db: Database) -> None:
    db["runs"].add_column("current_period", str)
    db["runs"].create_index(["ruleset", "created_at"])


@migrations()
def m006_compressed_verdicts(db: Database) -> None:
    # A verdict for hundreds of services runs to megabytes of JSON: keep it zlib-compressed.
    db["runs"].add_column("verdict_z", bytes)


@migrations()
def m007_bank_holidays(db: Database) -> None:
    # Bank holidays as the holidays package gave them, by its version: loading the package for every
    # run costs more time and memory than the check itself for one target.
    db["bank_holidays"].create({"source": str, "year": int, "day": str}, pk=("source", "year", "day"))


@migrations()
def m008_history_index(db: Database) -> None:
    # History reads each earlier run's current-period rows (for one service, or one target); a run
    # holds tens of thousands of rows, so the lookup must not scan them. One index, led by run and
    # period, serves history, diff and pruning, and replaces m004's (run, target, service).
    db.execute("DROP INDEX IF EXISTS idx_target_results_run_id_target_service")
    db["target_results"].create_index(["run_id", "period", "service", "target"], if_not_exists=True)


@migrations()
def m009_run_lowest_level(db: Database) -> None:
    # Verdicts are location-first (schema 2.0): a run keeps its lowest location level, not a score.
    db["runs"].add_column("lowest_level", str)


@migrations()
def m010_run_provenance(db: Database) -> None:
    # carecheck runs lists each run with the carecheck that made it and the records it read.
    db["runs"].add_column("carecheck_version", str)
    db["runs"].add_column("records_read", int)


@migrations()
def m011_rows_left_out(db: Database) -> None:
    # Rows of another kind in a shared export, left out by a mapping's only_rows, are counted apart
    # from rejected rows: rows read = accepted + rejected + left out.
    db["imports"].add_column("rows_left_out", int)


@migrations()
def m012_field_findings(db: Database) -> None:
    # An optional value that cannot be read leaves its field empty and the record kept: each is a
    # finding (file, row, field, reason), never a lost record.
    db["field_findings"].create(
        {"import_id": int, "source_file": str, "row": int, "field": str, "reason": str},
    )
    db["field_findings"].create_index(["import_id"])


@migrations()
def m013_clean_ids(db: Database) -> None:
    # Ids are compared and stored cleaned (NFC, no zero-width or bidirectional marks, no BOM): a
    # stored id is cleaned the same way, unless the cleaned id is another record's, which is kept
    # apart and listed in id_clashes rather than merged silently.
    from carecheck.records import BUILTIN_KINDS, clean_text

    db["id_clashes"].create({"kind": str, "record_id": str, "clean_id": str}, pk=("kind", "record_id"))
    for kind in BUILTIN_KINDS:  # the stores this migration upgrades predate plugins' kinds
        if not db[kind].exists():
            continue
        ids = [record_id for (record_id,) in db.execute(f"SELECT id FROM [{kind}]")
               if record_id is not None and (not record_id.isascii() or record_id != record_id.strip())]
        for record_id in ids:
            clean = clean_text(record_id)
            if clean == record_id:
                continue
            if db.execute(f"SELECT 1 FROM [{kind}] WHERE id = ?", [clean]).fetchone():
                db.execute("INSERT INTO id_clashes VALUES (?, ?, ?)", [kind, record_id, clean])
            else:
                db.execute(f"UPDATE [{kind}] SET id = ? WHERE id = ?", [clean, record_id])


@migrations()
def m014_plugin_kinds(db: Database) -> None:
    # The record kinds plugins added, so their tables are known after a plugin is uninstalled.
    db["plugin_kinds"].create({"kind": str, "plugin": str, "title": str}, pk="kind")


@migrations()
def m015_store_info(db: Database) -> None:
    # Facts about the store itself: which command made it (carecheck demo replaces only its own).
    db["store_info"].create({"key": str, "value": str}, pk="key")


@migrations()
def m016_verdict_length(db: Database) -> None:
    # A stored verdict's uncompressed length, so reading it back stops there: a crafted store's
    # few megabytes could otherwise inflate to gigabytes.
    db["runs"].add_column("verdict_length", int)


@migrations()
def m017_supplied_fields(db: Database) -> None:
    # The fields each import's source had a column or key for (a JSON list), whether or not any
    # row had a value: a check needing a field its source never supplied is a data gap, not a
    # failure. Imports stored before this have none (their records' values stand in).
    db["imports"].add_column("supplied_fields", str)


@migrations()
def m018_compact_runs(db: Database) -> None:
    # A stored run keeps every failure as a compressed blob on its runs row (with its length), and
    # target_results the current period only (the stored verdict holds every period). One row per
    # figure and per failure made every run add hundreds of kilobytes.
    from carecheck.store.runs import FAILURE_COLUMNS, pack_rows

    for column, kind in (("failures_z", bytes), ("failures_length", int)):
        db["runs"].add_column(column, kind)
    has_failures = db["run_failures"].exists()
    for run_id, current in db.execute("SELECT run_id, current_period FROM runs").fetchall():
        failures = pack_rows(db.execute(f"SELECT {', '.join(FAILURE_COLUMNS)} FROM run_failures WHERE run_id = ? "
                                        "ORDER BY rowid", [run_id]).fetchall() if has_failures else [])
        db.execute("UPDATE runs SET failures_z = ?, failures_length = ? WHERE run_id = ?", [*failures, run_id])
        db.execute("DELETE FROM target_results WHERE run_id = ? AND period IS NOT ?", [run_id, current])
    if has_failures:
        db["run_failures"].drop()


@migrations()
def m019_rulesets(db: Database) -> None:
    # Each resolved ruleset a run used, once per hash of its values: a series in history is a
    # ruleset name with that hash, and diff names what changed between two runs' rulesets.
    db["rulesets"].create({"values_hash": str, "name": str, "version": int, "extends": str, "values_z": bytes,
                           "values_length": int}, pk="values_hash")
    db["runs"].add_column("ruleset_values_hash", str)
