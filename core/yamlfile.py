"""Reading the YAML files users write (mappings, manifests, rulesets, waivers), with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from carecheck.errors import InputError


#: libyaml's safe loader where PyYAML was built with it (many times faster), else the Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: Limits for the YAML files users write (docs/security.md). Anchors and aliases stay allowed, within
#: an expansion budget checked on the composed document, before anything is built or merged: an
#: alias bomb of a few hundred bytes would otherwise expand to gigabytes.
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 10_000
MAX_NODES = 1_000_000
#: Longer integers are refused: Python will not read an integer of more than 4,300 digits, and no
#: count, limit or score carecheck reads needs more than a few.
MAX_INTEGER_DIGITS = 30

_INT_TAG = "tag:yaml.org,2002:int"


class YAMLLimitError(yaml.YAMLError):
    """A YAML document past one of the limits above."""


def _check_limits(root: yaml.Node) -> None:
    """Count the document as composed (each node once) and as it would be built (each alias
    expanded), without building it; refuse long integers, naming their line."""
    seen: set[int] = set()
    aliases = 0
    expanded: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YAMLLimitError(f"more than {MAX_ALIASES} aliases (line {node.start_mark.line + 1})")
            continue
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise YAMLLimitError(f"more than {MAX_NODES:,} values")
        order.append(node)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT_TAG and sum(ch.isdigit() for ch in node.value) > MAX_INTEGER_DIGITS:
                raise YAMLLimitError(f"line {node.start_mark.line + 1}: an integer of more than "
                                     f"{MAX_INTEGER_DIGITS} digits")
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
    if not aliases:
        return
    # Sizes after expansion, children before parents (a node's children were pushed after it).
    for node in reversed(order):
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        size = 1 + sum(expanded.get(id(child), 1) for child in children)
        expanded[id(node)] = min(size, MAX_EXPANDED_NODES + 1)
    if expanded[id(root)] > MAX_EXPANDED_NODES:
        raise YAMLLimitError(f"its aliases expand it past {MAX_EXPANDED_NODES:,} values")


def parse_yaml(text: str) -> Any:
    """Parse YAML text safely (no Python objects) within the limits above: raises ``yaml.YAMLError``."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_limits(node)
        return loader.construct_document(node)
    except ValueError as error:  # a value the constructor cannot build (a date out of range, say)
        raise YAMLLimitError(str(error).splitlines()[0]) from None
    finally:
        loader.dispose()


def read_yaml(path: Path, what: str, error: type[InputError] = InputError) -> Any:
    """The parsed content of ``path``; a missing file or bad YAML is ``error`` naming the file."""
    try:
        return parse_yaml(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a {what}") from None
    except YAMLLimitError as problem:
        raise error(f"{path}: refused: {problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as problem:
        raise error(f"{path}: not valid YAML ({str(problem).splitlines()[0]})") from None
