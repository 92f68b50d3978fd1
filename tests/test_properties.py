"""Properties that must hold for any input, checked on inputs hypothesis makes up."""

import csv
import io
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecheck.domainkit import expressions
from carecheck.dates import WorkingDays, parse_date, parse_timestamp

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(DAYS, st.integers(min_value=0, max_value=40))
def test_working_days_land_on_working_days_and_count_exactly(start, n):
    calendar = WorkingDays()
    end = calendar.add(start, n)
    counted = sum(calendar.is_working_day(start + timedelta(days=k)) for k in range(1, (end - start).days + 1))
    assert counted == n
    if n:
        assert end > start and calendar.is_working_day(end)
    else:
        assert end == start


@SETTINGS
@given(DAYS)
def test_day_first_and_iso_dates_read_back(day):
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(day.isoformat()) == day
    assert parse_timestamp(day.strftime("%d/%m/%Y")) == day  # a date alone stays a date


@SETTINGS
@given(st.text(max_size=60))
def test_the_trigger_language_never_crashes_on_any_text(text):
    names = {"a": "number", "b": "bool", "t.status": "text"}
    try:
        parsed = expressions.parse(text, names)
    except expressions.ExpressionError:
        return
    expressions.to_durable(parsed)  # whatever parses compiles
    assert set(expressions.names_in(parsed)) <= set(names)


WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)


@SETTINGS
@given(st.dictionaries(WORDS.filter(lambda w: w.strip()), st.sampled_from(["none", "low", "moderate"]),
                       min_size=1, max_size=5), st.data())
def test_value_maps_read_any_listed_word_whatever_its_case(words, data):
    from carecheck.mapping import FieldMap, _field_reader

    spec = FieldMap(column="Harm", values=words)
    read = _field_reader("Harm", spec, "other", None, set(), set())
    word = data.draw(st.sampled_from(sorted(words)))
    lowered = {k.strip().lower(): v for k, v in words.items()}
    assert read({"Harm": f"  {word.upper()} "}) in (lowered.get(word.upper().strip().lower()), word.upper().strip())


# Cells hold quotes, separators, tabs, line feeds and accents (a bare carriage return is left out:
# a writer that ends lines with a line feed alone does not quote it, so no reader could tell).
CELLS = st.text(alphabet=st.sampled_from(list('ab ,;"\n\t£é1')), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=12),
       st.sampled_from([",", ";"]), st.sampled_from(["\r\n", "\n"]), st.sampled_from(["utf-8", "cp1252"]))
def test_csv_rows_reconcile_whatever_their_quotes_and_separators(tmp_path_factory, rows, delimiter, ending, encoding):
    from carecheck.adapter_api import RowProblem
    from carecheck.adapters.csv_adapter import CSVAdapter

    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    writer.writerow(["first", "second", "third"])
    for n, row in enumerate(rows):
        writer.writerow([f"r{n}", *row[1:]])  # a first cell that is never blank
    path.write_bytes(buffer.getvalue().encode(encoding))
    adapter = CSVAdapter()
    with adapter.open(path, adapter.parse_options({"encoding": encoding})) as source:
        read = list(source.rows)
    assert len(read) == len(rows)  # every row is read, or rejected with a reason: none lost, none invented
    for n, (_, cells) in enumerate(read):
        assert not isinstance(cells, RowProblem)
        assert cells["first"] == f"r{n}"
        assert [cells["second"], cells["third"]] == rows[n][1:]
