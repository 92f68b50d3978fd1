"""The verdict itself, as versioned JSON (its schema: docs/verdict.schema.json)."""

from carecheck import hookimpl
from carecheck.reporter_api import Reporter


class JSONReporter(Reporter):
    name = "json"
    description = "The verdict as versioned JSON, the source of every other format"
    extension = ".json"

    def render(self, verdict: dict) -> str:
        from carecheck.verdict.chunks import json_chunks  # the verdict's models load only when needed

        return "".join(json_chunks(verdict)) + "\n"

    def write(self, verdict: dict, stream) -> None:
        from carecheck.verdict.chunks import json_chunks

        # Compact (the C encoder is many times faster than an indented dump), a target at a time.
        for chunk in json_chunks(verdict):
            stream.write(chunk)
        stream.write("\n")


@hookimpl
def carecheck_register_reporters(register):
    register(JSONReporter())
