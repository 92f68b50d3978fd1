"""The verdict itself, as versioned JSON (its schema: docs/verdict.schema.json)."""

import json

from carecheck import hookimpl
from carecheck.reporter_api import Reporter


class JSONReporter(Reporter):
    name = "json"
    description = "The verdict as versioned JSON, the source of every other format"
    extension = ".json"

    def render(self, verdict: dict) -> str:
        # Compact: the C encoder is many times faster than an indented dump of a large verdict.
        return json.dumps(verdict, ensure_ascii=False, separators=(",", ":")) + "\n"


@hookimpl
def carecheck_register_reporters(register):
    register(JSONReporter())
