"""Every built-in adapter, read through the importer into the store."""

import json
import sqlite3

import openpyxl
import pytest

from carecheck.errors import InputError
from carecheck.importing.importer import ImportRequest, import_source

from builders import INCIDENT_HEADER, write_csv

ROWS = [
    ["I1", "Oak House", "02/04/2026 09:15", "none", "fall"],
    ["I2", "Oak House", "03/04/2026 10:00", "low", "fall"],
]


def occurred(db):
    return dict(db.execute("SELECT id, occurred_at FROM incident ORDER BY id").fetchall())


EXPECTED = {"I1": "2026-04-02T09:15:00+01:00", "I2": "2026-04-03T10:00:00+01:00"}


@pytest.mark.parametrize(
    "encoding,delimiter",
    [("utf-8", ","), ("utf-8-sig", ","), ("cp1252", ","), ("utf-8", ";"), ("utf-8", "\t")],
)
def test_csv_encodings_and_delimiters(db, tmp_path, encoding, delimiter):
    rows = [INCIDENT_HEADER + ["description"]] + [row + ["café – £5 ‘note’"] for row in ROWS]
    path = write_csv(tmp_path / "in.csv", rows, encoding=encoding, delimiter=delimiter)
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_accepted) == (2, 2)
    assert occurred(db) == EXPECTED
    assert db.execute("SELECT description FROM incident WHERE id='I1'").fetchone()[0] == "café – £5 ‘note’"


def test_windows_1252_with_day_first_dates(db, tmp_path):
    path = write_csv(
        tmp_path / "export.csv",
        [INCIDENT_HEADER + ["description"], ["I9", "Oak House", "03/04/2026 14:40", "low", "fall", "£20 – missing"]],
        encoding="cp1252",
    )
    assert b"\xa320 \x96 missing" in path.read_bytes()  # really Windows-1252 bytes
    import_source(db, ImportRequest(path, "incident"))
    occurred_at, description = db.execute("SELECT occurred_at, description FROM incident").fetchone()
    assert occurred_at == "2026-04-03T14:40:00+01:00"  # 3 April, not 4 March
    assert description == "£20 – missing"


def test_forced_wrong_encoding_is_a_one_line_error(db, tmp_path):
    path = write_csv(tmp_path / "in.csv", [INCIDENT_HEADER + ["d"], ROWS[0] + ["\x81"]], encoding="latin-1")
    with pytest.raises(InputError, match=r"in.csv: row 2: the text is not valid utf-8"):
        import_source(db, ImportRequest(path, "incident", options={"encoding": "utf-8"}))


def test_jsonl_stream_with_a_bad_line(db, tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(dict(zip(INCIDENT_HEADER, row))) for row in ROWS]
    path.write_text(lines[0] + "\n{not json\n" + lines[1] + "\n", encoding="utf-8")
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (3, 2, 1)
    assert result.rejections[0].row == 2
    assert occurred(db) == EXPECTED


def test_json_array_and_nested_lists(db, tmp_path):
    path = tmp_path / "visits.json"
    path.write_text(json.dumps([
        {"id": "V1", "service": "Oak House", "visit_date": "05/03/2026", "actions_reviewed": ["A1=completed", "A2=overdue"]},
    ]))
    import_source(db, ImportRequest(path, "oversight_visit"))
    visit_date, reviewed = db.execute("SELECT visit_date, actions_reviewed FROM oversight_visit").fetchone()
    assert visit_date == "2026-03-05"
    assert json.loads(reviewed) == ["A1=completed", "A2=overdue"]


def test_xlsx_named_sheet_with_real_dates(db, tmp_path):
    from datetime import datetime

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append(["This sheet is not the data"])
    sheet = book.create_sheet("Incidents")
    sheet.append(INCIDENT_HEADER)
    sheet.append(["I1", "Oak House", datetime(2026, 4, 2, 9, 15), "none", "fall"])
    sheet.append([None, None, None, None, None])
    sheet.append([1002, "Oak House", "03/04/2026 10:00", "low", "fall"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    result = import_source(db, ImportRequest(path, "incident", options={"sheet": "Incidents"}))
    assert (result.rows_read, result.rows_accepted) == (2, 2)
    assert occurred(db) == {"1002": "2026-04-03T10:00:00+01:00", "I1": "2026-04-02T09:15:00+01:00"}
    with pytest.raises(InputError, match=r"no sheet named 'Nope' \(sheets: 'Cover', 'Incidents'\)"):
        import_source(db, ImportRequest(path, "incident", options={"sheet": "Nope"}), force=True)


def _source_db(tmp_path):
    path = tmp_path / "vendor.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE inc (ref TEXT, home TEXT, happened TEXT, harm TEXT)")
    conn.executemany("INSERT INTO inc VALUES (?, ?, ?, ?)", [
        ("I1", "Oak House", "02/04/2026 09:15", "none"), ("I2", "Oak House", "03/04/2026 10:00", "low"),
        ("I3", "Elm Court", "04/04/2026 10:00", "low"),
    ])
    conn.commit()
    conn.close()
    return path


def test_sqlite_query_is_read_only(db, tmp_path):
    path = _source_db(tmp_path)
    query = "SELECT ref AS id, home AS service, happened AS occurred_at, harm AS harm_level FROM inc WHERE home = 'Oak House'"
    result = import_source(db, ImportRequest(path, "incident", adapter="sqlite", options={"query": query}))
    assert result.rows_accepted == 2
    assert occurred(db) == EXPECTED
    before = path.read_bytes()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for refused in ("DELETE FROM inc", f"VACUUM INTO '{elsewhere / 'copy.db'}'",
                    f"ATTACH '{elsewhere / 'new.db'}' AS other", "PRAGMA user_version = 7",
                    "CREATE TABLE t (a)"):
        with pytest.raises(InputError, match="vendor.sqlite: option query: only reading is allowed"):
            import_source(db, ImportRequest(path, "incident", adapter="sqlite", options={"query": refused}))
    assert list(elsewhere.iterdir()) == []  # VACUUM INTO and ATTACH made no file
    assert path.read_bytes() == before


def test_sqlite_table_with_mapping(db, tmp_path):
    path = _source_db(tmp_path)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("fields: {id: ref, service: home, occurred_at: happened, harm_level: harm}\n")
    result = import_source(
        db, ImportRequest(path, "incident", adapter="sqlite", options={"table": "inc"}, mapping=str(mapping))
    )
    assert result.rows_accepted == 3
    with pytest.raises(InputError, match="no table named 'missing'"):
        import_source(db, ImportRequest(path, "incident", adapter="sqlite", options={"table": "missing"}))
    with pytest.raises(InputError, match="give exactly one of the options table or query"):
        import_source(db, ImportRequest(path, "incident", adapter="sqlite"))


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\r\n\r\n", r"the file is empty \(no header row\)"),
        ("book.csv", b"PK\x03\x04rest-of-a-zip", "this is an Excel workbook or other zip archive, not a CSV file"),
        ("data.csv", b"SQLite format 3\x00....", "this is a SQLite database, not a CSV file"),
        ("bin.csv", b"id,service\r\n\x00\x01\x02", "this is a binary file, not a CSV file"),
        ("text.xlsx", b"id,service\r\n", "this is a text or other non-Excel file, not an Excel .xlsx workbook"),
        ("broken.json", b"[{\"id\": 1,", r"line 1: not valid JSON"),
        ("notdb.sqlite", b"id,service\n", "not a SQLite database"),
    ],
)
def test_files_that_are_not_what_they_say(db, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    options = {"table": "t"} if name.endswith(".sqlite") else {}
    with pytest.raises(InputError, match=message):
        import_source(db, ImportRequest(path, "incident", options=options))
    assert db.execute("SELECT COUNT(*) FROM imports").fetchone()[0] == 0


def test_unknown_extension_and_adapter(db, tmp_path):
    path = tmp_path / "export.dat"
    path.write_text("x")
    with pytest.raises(InputError, match=r"cannot tell which adapter reads \.dat; pass --adapter"):
        import_source(db, ImportRequest(path, "incident"))
    with pytest.raises(InputError, match=r"unknown adapter 'nope' \(available: csv, json, jsonl, sqlite, xlsx\)"):
        import_source(db, ImportRequest(path, "incident", adapter="nope"))


def test_a_stray_quote_costs_one_row_not_the_rest_of_the_file(db, tmp_path):
    from carecheck.importing.importer import ImportRequest, import_source

    rows = [["id", "service", "occurred_at", "cause"]]
    rows += [[f"I{n}", "Oak", "02/04/2026 10:00", "fall"] for n in range(1, 61)]
    path = tmp_path / "register.csv"
    lines = [",".join(row) for row in rows]
    lines[11] = 'I11,Oak,02/04/2026 10:00,"fall'  # row 11 of the register opens a quote it never closes
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (60, 59, 1)
    (row, reason), = db.execute("SELECT row, reason FROM rejected_rows").fetchall()
    assert row == 12 and "a quoted cell opened on this row is not closed within 50 lines" in reason
    assert db.execute("SELECT MAX(length(cause)) FROM incident").fetchone() == (4,)  # nothing swallowed


def test_quoted_cells_spanning_lines_and_loose_quotes_still_read(db, tmp_path):
    from carecheck.importing.importer import ImportRequest, import_source

    path = tmp_path / "ok.csv"
    path.write_text('id,service,occurred_at,cause\nI1,Oak,02/04/2026,"fell\nin the lounge"\nI2,Oak,02/04/2026,5" step\n'
                    'I3,Oak,02/04/2026,"said ""ouch"""\n', encoding="utf-8")
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (3, 3, 0)
    assert dict(db.execute("SELECT id, cause FROM incident").fetchall()) == {
        "I1": "fell\nin the lounge", "I2": '5" step', "I3": 'said "ouch"'}


def test_look_alike_ids_are_one_id(db, tmp_path):
    from carecheck.importing.importer import ImportRequest, import_source

    path = tmp_path / "ids.csv"
    ids = ["IN-9200", "IN-\u200b9200", "\u200fIN-9200", "\ufeffIN-9200", "CAFE\u0301-1"]
    path.write_text("id,service,occurred_at\n" + "".join(f"{i},Oak,02/04/2026\n" for i in ids), encoding="utf-8")
    result = import_source(db, ImportRequest(path, "incident"))
    # The zero-width space, right-to-left mark and byte-order mark are removed: three repeats of IN-9200.
    assert (result.rows_read, result.rows_accepted, result.rows_rejected, result.ids_cleaned) == (5, 2, 3, 4)
    assert sorted(i for (i,) in db.execute("SELECT id FROM incident")) == ["CAFÉ-1", "IN-9200"]


@pytest.mark.parametrize("depth", [70, 5000])
def test_deeply_nested_json_is_refused_in_one_line(db, tmp_path, depth):
    from carecheck.errors import InputError
    from carecheck.importing.importer import ImportRequest, import_source

    path = tmp_path / "deep.json"
    path.write_text('[{"id": "I1", "service": "Oak", "occurred_at": "02/04/2026", "x": ' + "[" * depth + "]" * depth
                    + "}]")
    if depth > 1000:  # past Python's own limit: the whole file is refused, never a crash
        with pytest.raises(InputError, match="deep.json: the JSON is nested deeper than 64 levels"):
            import_source(db, ImportRequest(path, "incident"))
    else:
        result = import_source(db, ImportRequest(path, "incident"))
        assert (result.rows_read, result.rows_rejected) == (1, 1)
        assert result.rejections[0].reason == "nested deeper than 64 levels"


def test_a_header_only_file_imports_nothing_and_says_so(run_cli, tmp_path):
    path = tmp_path / "no-incidents-this-month.csv"
    path.write_bytes(b"id,service,occurred_at\r\n")
    result = run_cli("import", path, "--kind", "incident", "--db", tmp_path / "s.db")
    assert result.exit_code == 0
    assert result.stdout == (f"{path}: incident: 0 rows read = 0 accepted + 0 rejected + 0 left out; records 0 new, "
                             "0 changed, 0 unchanged\n  the file has a header and no rows: nothing to import (a period "
                             "with no records)\n")


def test_a_nul_byte_or_an_oversized_cell_costs_only_its_field(db, tmp_path):
    from carecheck.importing.importer import ImportRequest, import_source

    path = tmp_path / "odd.csv"
    long_text = "word " * 30_000  # 150,000 characters
    path.write_bytes((
        "id,service,occurred_at,cause,description\r\n"
        "I1,Oak,02/04/2026,fa\x00ll,ok\r\n"            # a NUL in an optional code: left empty
        f"I2,Oak,02/04/2026,fall,\"{long_text}\"\r\n"   # an oversized narrative: left empty
        "I3,O\x00ak,02/04/2026,fall,ok\r\n"            # a NUL in the required service: rejected
        "I4,Oak,02/04/2026,fall,\"quoted \x00 text\"\r\n"
    ).encode())
    result = import_source(db, ImportRequest(path, "incident"))
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (4, 3, 1)
    assert result.fields_left_empty == {"cause": 1, "description": 2}
    assert db.execute("SELECT row, reason FROM rejected_rows").fetchall() == [(4, "service: holds a NUL byte")]
    reasons = sorted(r for (r,) in db.execute("SELECT reason FROM field_findings"))
    assert reasons == ["holds a NUL byte", "holds a NUL byte", "is longer than 100,000 characters"]


def test_a_zip_renamed_to_xlsx_is_named_plainly(db, tmp_path):
    import zipfile

    from carecheck.errors import InputError
    from carecheck.importing.importer import ImportRequest, import_source

    path = tmp_path / "zip-renamed.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(InputError, match=r"zip-renamed.xlsx: a zip archive, but not an Excel workbook"):
        import_source(db, ImportRequest(path, "incident"))


def test_implausible_dates_are_flagged_and_never_counted(run_cli, tmp_path):
    import json as json_module

    store = tmp_path / "s.db"
    path = tmp_path / "incidents.csv"
    path.write_text("id,service,occurred_at,reviewed_at\nI1,Oak,02/04/2026 10:00,03/04/2026 10:00\n"
                    "I2,Oak,02/04/2031 10:00,\nI3,Oak,02/04/1926 10:00,\n", encoding="utf-8")
    result = run_cli("import", path, "--kind", "incident", "--db", store)
    assert "2 rows kept with an implausible event date (before 2000, or after today)" in result.stdout
    verdict = json_module.loads(run_cli("run", "--db", store, "--as-of", "2026-05-31", "--engine", "reference",
                                        "--format", "json").stdout)
    assert verdict["periods"]["evaluated"][0] == "2026-04"  # 1926 never stretches the periods back
    assert verdict["audit"]["source_freshness"]["incident"] == "2026-04-02T10:00:00+01:00"  # 2031 never looks fresh
    assert verdict["data_quality"]["implausible_dates"] == 2
