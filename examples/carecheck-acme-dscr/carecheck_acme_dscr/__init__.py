"""carecheck plugin for ACME Digital Social Care Record (DSCR) exports.

ACME's nightly export is a ZIP of CSV files, one per record type, with ACME's own column names
and status words; its API dump is one nested JSON document. This package reads both (the
``acme-dscr`` adapter) and maps them onto carecheck's records (the ``acme-*`` mappings).
"""

from pathlib import Path

from carecheck import hookimpl

from .adapter import AcmeDscrAdapter

__version__ = "2.1.0"

MAPPINGS = Path(__file__).parent / "mappings"


@hookimpl
def carecheck_register_adapters(register):
    register(AcmeDscrAdapter())


@hookimpl
def carecheck_register_mappings(register):
    for path in sorted(MAPPINGS.glob("*.yaml")):
        register(f"acme-{path.stem}", path)
