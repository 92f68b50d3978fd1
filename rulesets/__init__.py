"""Rulesets shipped with carecheck (YAML files beside this module)."""

from pathlib import Path

RULESETS_DIR = Path(__file__).parent
