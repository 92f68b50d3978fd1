"""A verdict as JSON, for reporter plugins (documented in docs/plugins/README.md): the public path
of :mod:`carecheck.verdict.chunks`."""

from carecheck.verdict.chunks import json_chunks, plain

__all__ = ["json_chunks", "plain"]
