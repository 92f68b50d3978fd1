"""Getting evidence in: one source file into the store in one transaction (``importer``), a whole
export folder's manifest (``manifest``), and the seeded synthetic evidence the demo and the
benchmarks import (``generator``)."""
