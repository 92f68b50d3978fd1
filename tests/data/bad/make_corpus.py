"""Writes the corpus of bad files the import is tested against (tests/test_bad_files.py).

    python tests/data/bad/make_corpus.py

Each file is named for what is wrong with it; expected.csv gives, for each, the kind it is
imported as and the outcome: the exit code, and for an import that runs, rows read, accepted,
rejected and left out (worked out by hand from the file), or for a refused file a fragment of
its one-line message.
"""

import csv
import io
import json
import sqlite3
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
H = "id,service,occurred_at,harm_level,cause\r\n"
GOOD = "I{n},Oak,0{d}/04/2026 10:00,low,fall\r\n"


def rows(*lines: str) -> str:
    return H + "".join(lines)


def good(n: int) -> str:
    return GOOD.format(n=n, d=(n % 8) + 1)


CASES: list[tuple[str, bytes | str, str, str]] = []  # name, content, kind, expected (exit;read;acc;rej;left or exit;msg)


def case(name, content, expected, kind="incident"):
    CASES.append((name, content, kind, expected))


case("empty.csv", b"", "2;the file is empty")
case("only-blank-lines.csv", b"\r\n\r\n", "2;the file is empty")
case("header-only.csv", H, "0;0;0;0;0")
case("good-three-rows.csv", rows(good(1), good(2), good(3)), "0;3;3;0;0")
case("stray-quote-row-2.csv", rows(good(1), 'I2,Oak,02/04/2026 10:00,low,"fall\r\n', good(3), good(4)), "0;4;3;1;0")
case("quote-never-closed-at-end.csv", rows(good(1), good(2), 'I3,Oak,02/04/2026,low,"open'), "0;3;2;1;0")
case("too-many-fields.csv", rows(good(1), "I2,Oak,02/04/2026,low,fall,extra\r\n"), "0;2;1;1;0")
case("too-few-fields.csv", rows(good(1), "I2,Oak,02/04/2026\r\n"), "0;2;2;0;0")
case("impossible-date.csv", rows(good(1), "I2,Oak,31/02/2026,low,fall\r\n"), "0;2;1;1;0")
case("month-first-dates.csv", rows("I1,Oak,04/05/2026,low,fall\r\n", "I2,Oak,04/13/2026,low,fall\r\n"),
     "2;a date only month-first reading allows")
case("time-without-date.csv", rows(good(1), "I2,Oak,10:00,low,fall\r\n"), "0;2;1;1;0")
case("harm-word-not-in-list.csv", rows(good(1), "I2,Oak,02/04/2026,catastrophic,fall\r\n"), "0;2;2;0;0")
case("blank-required-service.csv", rows(good(1), "I2,,02/04/2026,low,fall\r\n"), "0;2;1;1;0")
case("duplicate-ids-in-file.csv", rows(good(1), good(1)), "0;2;1;1;0")
case("zero-width-space-in-id.csv", rows(good(1), "I\u200b1,Oak,02/04/2026,low,fall\r\n"), "0;2;1;1;0")
case("right-to-left-mark-in-id.csv", rows(good(1), "\u200fI1,Oak,02/04/2026,low,fall\r\n"), "0;2;1;1;0")
case("bom-mid-file.csv", rows(good(1), "\ufeffI1,Oak,02/04/2026,low,fall\r\n"), "0;2;1;1;0")
case("bom-at-start.csv", "\ufeff" + rows(good(1)), "0;1;1;0;0")
case("windows-1252-pound.csv", rows("I1,Oak,02/04/2026,low,\u00a350 missing\r\n").encode("cp1252"), "0;1;1;0;0")
case("mixed-utf8-and-1252.csv", rows("I1,Oak,02/04/2026,low,caf\u00e9\r\n").encode("utf-8")
     + "I2,Oak,02/04/2026,low,caf\u00e9\r\n".encode("cp1252"), "0;2;2;0;0")
case("utf-16.csv", rows(good(1)).encode("utf-16"), "2;UTF-16 text is not supported")
case("semicolon-separated.csv", rows(good(1)).replace(",", ";"), "0;1;1;0;0")
case("tab-separated.tsv", rows(good(1)).replace(",", "\t"), "0;1;1;0;0")
case("duplicate-header.csv", "id,service,occurred_at,id\r\nI1,Oak,02/04/2026,I1\r\n", "2;column 'id' appears twice")
case("missing-required-column.csv", "id,service\r\nI1,Oak\r\n", "2;missing required column 'occurred_at'")
case("nul-byte-in-optional-cell.csv", rows(good(1), "I2,Oak,02/04/2026,low,fa\x00ll\r\n"), "0;2;2;0;0")
case("formula-text.csv", rows('I1,Oak,02/04/2026,low,"=HYPERLINK(""http://x"")"\r\n'), "0;1;1;0;0")
case("script-text.csv", rows("I1,Oak,02/04/2026,low,<script>alert(1)</script>\r\n"), "0;1;1;0;0")
case("future-date.csv", rows(good(1), "I2,Oak,02/04/2031,low,fall\r\n"), "0;2;2;0;0")
case("far-past-date.csv", rows(good(1), "I2,Oak,02/04/1926,low,fall\r\n"), "0;2;2;0;0")
case("spring-forward-gap.csv", rows(good(1), "I2,Oak,29/03/2026 01:30,low,fall\r\n"), "0;2;1;1;0")
case("blank-rows-below-data.csv", rows(good(1)) + ",,,,\r\n\r\n", "0;1;1;0;0")
case("binary-junk.csv", b"id,service\r\n\x00\x01\x02\x03\x04\x05", "2;this is a binary file")
case("zip-renamed.xlsx", None, "2;a zip archive, but not an Excel workbook")
case("csv-renamed.xlsx", rows(good(1)), "2;not an Excel .xlsx workbook")
case("sqlite-not-a-database.sqlite", rows(good(1)), "2;not a SQLite database")
case("sqlite-saved-as.csv", None, "2;this is a SQLite database, not a CSV file")
case("json-top-level-object.json", json.dumps({"exported": "2026", "records": [{"id": "I1"}]}, indent=2),
     "2;not a JSON array (found an object with keys")
case("json-nested-too-deep.json", '[{"id": "I1", "service": "Oak", "occurred_at": "02/04/2026", "x": '
     + "[" * 100 + "]" * 100 + "}]", "0;1;0;1;0")
case("json-truncated.json", '[{"id": "I1",', "2;not valid JSON")
case("jsonl-one-bad-line.jsonl", '{"id": "I1", "service": "Oak", "occurred_at": "02/04/2026"}\n{bad\n'
     '{"id": "I2", "service": "Oak", "occurred_at": "03/04/2026"}\n', "0;3;2;1;0")
case("unknown-extension.dat", rows(good(1)), "2;cannot tell which adapter reads .dat")
case("xlsx-missing-sheet.xlsx", None, "2;no sheet named 'Incidents'")


def main() -> None:
    table = [["file", "kind", "expected"]]
    for name, content, kind, expected in CASES:
        path = HERE / name
        if name == "zip-renamed.xlsx":
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("hello.txt", "hi")
        elif name == "sqlite-saved-as.csv":
            path.unlink(missing_ok=True)
            sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
        elif name == "xlsx-missing-sheet.xlsx":
            from openpyxl import Workbook

            book = Workbook()
            book.active.title = "Other"
            book.active.append(["id", "service", "occurred_at"])
            book.save(path)
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        table.append([name, kind, expected])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(table)
    (HERE / "expected.csv").write_text(buffer.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main()
