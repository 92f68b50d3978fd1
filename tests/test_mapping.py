import pytest

from carecheck.errors import InputError, MappingError
from carecheck.importing.importer import ImportRequest, import_source
from carecheck.mapping import load_mapping

from builders import write_csv

VENDOR_ROWS = [
    ["Home", "Ref", "When", "Harm", "Police?", "Candour", "Reviewed"],
    ["OAK", "17", "02/04/2026 09:15", "No harm", "Y", "", "08/04/2026 10:00"],
    ["OAK", "18", "03/04/2026 10:00", "Minor", "Yes", "Done", ""],
    ["ELM", "17", "04/04/2026 11:00", "Major", "TRUE", "", ""],
    ["ELM", "19", "05/04/2026 12:00", "no HARM", "0", "", ""],
]

MAPPING = """\
kind: incident
source_system: VendorCare
key: [Home, Ref]
key_separator: "-"
fields:
  service: Home
  occurred_at: {column: When, format: "%d/%m/%Y %H:%M"}
  harm_level: {column: Harm, values: {No harm: none, Minor: low, Major: severe}}
  police_involved: Police?
  reviewed_at: Reviewed
"""


def test_mapping_applies_keys_value_maps_and_yes_no_words(db, tmp_path):
    source = write_csv(tmp_path / "vendor.csv", VENDOR_ROWS)
    mapping = tmp_path / "vendor.yaml"
    mapping.write_text(MAPPING)
    result = import_source(db, ImportRequest(source, "incident", mapping=str(mapping)))
    assert result.rows_accepted == 4
    rows = db.execute(
        "SELECT i.id, service, harm_level, police_involved, reviewed_at, imports.source_name, source_row "
        "FROM incident i JOIN imports ON imports.id = i.import_id ORDER BY i.id"
    ).fetchall()
    assert rows == [
        ("ELM-17", "ELM", "severe", 1, None, "VendorCare", 4),
        ("ELM-19", "ELM", "none", 0, None, "VendorCare", 5),
        ("OAK-17", "OAK", "none", 1, "2026-04-08T10:00:00+01:00", "VendorCare", 2),
        ("OAK-18", "OAK", "low", 1, None, "VendorCare", 3),
    ]


def test_missing_required_column_names_it(db, tmp_path):
    source = write_csv(tmp_path / "vendor.csv", [row[:2] + row[3:] for row in VENDOR_ROWS])  # no "When"
    mapping = tmp_path / "vendor.yaml"
    mapping.write_text(MAPPING)
    with pytest.raises(MappingError, match=r"vendor.csv: missing required column 'When' \(field occurred_at; columns found: 'Home', 'Ref', "):
        import_source(db, ImportRequest(source, "incident", mapping=str(mapping)))


def test_without_mapping_a_missing_required_column_is_named(db, tmp_path):
    source = write_csv(tmp_path / "plain.csv", [["id", "service"], ["1", "OAK"]])
    with pytest.raises(InputError, match=r"plain.csv: missing required column 'occurred_at'"):
        import_source(db, ImportRequest(source, "incident"))


def test_column_names_match_loosely_without_a_mapping(db, tmp_path):
    source = write_csv(tmp_path / "plain.csv", [["ID", "Service", "Occurred At", "Harm-Level"], ["1", "OAK", "01/05/2026", "Low"]])
    import_source(db, ImportRequest(source, "incident"))
    # A date with no time is kept as a date: never midnight, so never a night-shift event.
    assert db.execute("SELECT id, harm_level, occurred_at FROM incident").fetchone() == ("1", "low", "2026-05-01")


@pytest.mark.parametrize(
    "text,message",
    [
        ("fields: {nonsense: X}\n", r"fields.nonsense: incident has no field 'nonsense'"),
        ("colour: blue\n", r"colour: Extra inputs are not permitted"),
        ("kind: audit\n", r"the mapping is for kind 'audit', not 'incident'"),
        ("fields: [1, 2\n", "not valid YAML"),
        ("- a\n- b\n", "a mapping file must be a YAML mapping"),
        ("fields: {id: Ref, service: Nowhere}\n", r"missing required column 'Nowhere' \(field service; columns found: 'Home', 'Ref', 'When'"),
        ("key: [Ref, Missing]\n", r"missing key column 'Missing' named by the mapping"),
    ],
)
def test_bad_mappings_are_refused_with_the_key(db, tmp_path, text, message):
    source = write_csv(tmp_path / "vendor.csv", VENDOR_ROWS)
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(text)
    with pytest.raises(InputError, match=message):
        import_source(db, ImportRequest(source, "incident", mapping=str(mapping)))


def test_mapping_model_forbids_unknown_keys_in_fields(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields:\n  service: {column: Home, colour: red}\n")
    with pytest.raises(MappingError, match=r"fields.service.colour: Extra inputs are not permitted"):
        load_mapping(mapping)
