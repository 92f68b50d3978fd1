"""Reading the YAML files users write (mappings, manifests, rulesets, waivers), with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import InputError


#: libyaml's safe loader where PyYAML was built with it (many times faster), else the Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """Parse YAML text safely (no Python objects): raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=SafeLoader)


def read_yaml(path: Path, what: str, error: type[InputError] = InputError) -> Any:
    """The parsed content of ``path``; a missing file or bad YAML is ``error`` naming the file."""
    try:
        return parse_yaml(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as problem:
        raise error(f"{path}: not valid YAML ({str(problem).splitlines()[0]})") from None
