"""Hand-built evidence for tests: records validated by their models and written straight to the store."""

from datetime import date
from pathlib import Path

from carecheck.records import model_for
from carecheck.store import record_columns, to_column


def add(db, kind: str, **fields) -> None:
    model = model_for(kind)
    record = model.model_validate(fields)
    data = record.model_dump()
    columns = [c for c in record_columns(model) if c != "import_id"]
    db[kind].insert({c: to_column(data[c]) for c in columns if c in data})


def ruleset_file(tmp_path: Path, text: str, name: str = "ruleset.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_domain(domain: str, start: date, extra: str = "") -> str:
    return f"name: test-{domain}\nstart: {start.isoformat()}\nsustained: 2\ndomains:\n  {domain}:\n    enabled: true\n{extra}"
