"""The trigger language of rulesets: comparisons joined by and, or, not. Parsed, never evaluated as Python.

::

    missing_rationale > 0 or (sg_record_complete.has_value and not sg_record_complete.met)

Names are facts a domain computes for each service and current period, or target results
(``TARGET.value``, ``.met``, ``.has_value``, ``.numerator``, ``.denominator``, ``.status``).
Values are numbers, quoted text, ``true`` or ``false``. A bare name means ``name == true``.

A parsed trigger compiles to a durable-rules condition over one fact: ``not`` is pushed down to
the comparisons (``not a < 3`` becomes ``a >= 3``), which is exact because every fact the
engine asserts has every name filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Union

ValueType = Literal["number", "bool", "text"]

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<lparen>\()
      | (?P<rparen>\))
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "true", "false"}
NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
FLIPPED = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
DURABLE_OPERATORS = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


class ExpressionError(ValueError):
    """A trigger that cannot be parsed; ``position`` is the 1-based character where the problem is."""

    def __init__(self, message: str, position: int):
        super().__init__(f"position {position}: {message}")
        self.position = position


@dataclass(frozen=True)
class Compare:
    name: str
    op: str
    value: Any


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Expr = Union[Compare, And, Or, Not]


@dataclass
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise ExpressionError(f"unexpected character {text[position]!r}", position + 1)
        kind = match.lastgroup
        if kind != "space":
            word = match.group()
            if kind == "name" and word in KEYWORDS:
                kind = word
            tokens.append(_Token(kind, word, position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


#: Parentheses and ``not`` nested deeper than this are a syntax error: no real rule needs more, and
#: the parser (and every walk of the parsed condition) recurses once a level.
MAX_NESTING = 64


class _Parser:
    def __init__(self, text: str, names: dict[str, ValueType]):
        self.tokens = _tokens(text)
        self.index = 0
        self.names = names
        self.depth = 0

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"nested more than {MAX_NESTING} levels deep", token.position)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self, kind: str | None = None) -> _Token:
        token = self.tokens[self.index]
        if kind and token.kind != kind:
            expected = {"rparen": "')'", "end": "end of condition"}.get(kind, kind)
            found = token.text or "end of condition"
            raise ExpressionError(f"expected {expected}, found {found!r}", token.position)
        self.index += 1
        return token

    def parse(self) -> Expr:
        expression = self.or_expr()
        self.take("end")
        return expression

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.peek().kind == "or":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.peek().kind == "and":
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.peek().kind == "not":
            self.deeper(self.take())
            try:
                return Not(self.not_expr())
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Expr:
        token = self.peek()
        if token.kind == "lparen":
            self.deeper(self.take())
            inner = self.or_expr()
            self.take("rparen")
            self.depth -= 1
            return inner
        left = self.operand()
        if self.peek().kind != "op":
            if left[0] != "name":
                raise ExpressionError("a value on its own is not a condition", token.position)
            return self.check(Compare(left[1], "==", True), token.position, left[2])
        op = self.take().text
        right_token = self.peek()
        right = self.operand()
        if left[0] == "name" and right[0] == "name":
            raise ExpressionError("compare a name with a value, not with another name", right_token.position)
        if left[0] != "name" and right[0] != "name":
            raise ExpressionError("a comparison needs a name on one side", token.position)
        if left[0] == "name":
            return self.check(Compare(left[1], op, right[1]), token.position, left[2])
        return self.check(Compare(right[1], FLIPPED[op], left[1]), right_token.position, right[2])

    def suggest(self, name: str) -> str:
        """The closest known names, or the domain's signals: what the author may have meant."""
        import difflib

        close = difflib.get_close_matches(name, list(self.names), n=3, cutoff=0.75)
        if close:
            return f" (did you mean {', '.join(close)}?)"
        signals = sorted(n for n in self.names if "." not in n)
        return f" (signals: {', '.join(signals)}; or TARGET.value, .met, .has_value, .numerator, .denominator, " \
               ".status)" if signals else ""

    def operand(self) -> tuple[str, Any, int]:
        token = self.take()
        if token.kind == "name":
            if token.text not in self.names:
                raise ExpressionError(f"unknown name {token.text!r}{self.suggest(token.text)}", token.position)
            return ("name", token.text, token.position)
        if token.kind == "number":
            number = float(token.text)
            return ("value", int(number) if number.is_integer() and "." not in token.text else number, token.position)
        if token.kind == "string":
            return ("value", token.text[1:-1], token.position)
        if token.kind in ("true", "false"):
            return ("value", token.kind == "true", token.position)
        found = token.text or "end of condition"
        raise ExpressionError(f"expected a name or a value, found {found!r}", token.position)

    def check(self, compare: Compare, position: int, name_position: int) -> Compare:
        kind = self.names[compare.name]
        value = compare.value
        value_kind = "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "text"
        if value_kind != kind:
            raise ExpressionError(f"{compare.name} is {kind}, compared with {value_kind}", name_position)
        if kind != "number" and compare.op not in ("==", "!="):
            raise ExpressionError(f"{compare.name} is {kind}: only == and != apply", name_position)
        return compare


def parse(text: str, names: dict[str, ValueType]) -> Expr:
    """Parse a trigger; raises ExpressionError naming the position of the first problem."""
    if not text or not text.strip():
        raise ExpressionError("the condition is empty", 1)
    return _Parser(text, names).parse()


def negation_normal_form(expression: Expr, negate: bool = False) -> Expr:
    if isinstance(expression, Compare):
        return Compare(expression.name, NEGATED[expression.op], expression.value) if negate else expression
    if isinstance(expression, Not):
        return negation_normal_form(expression.item, not negate)
    items = tuple(negation_normal_form(item, negate) for item in expression.items)
    if isinstance(expression, And):
        return Or(items) if negate else And(items)
    return And(items) if negate else Or(items)


def fact_key(name: str) -> str:
    """The key a dotted name has in an engine fact (durable-rules reads dots as nesting)."""
    return name.replace(".", "__")


def to_durable(expression: Expr) -> dict:
    """The durable-rules condition for a trigger (single fact, no joins, no $not)."""
    expression = negation_normal_form(expression)

    def build(node: Expr) -> dict:
        if isinstance(node, Compare):
            key = fact_key(node.name)
            if node.op == "==":
                return {key: node.value}
            return {DURABLE_OPERATORS[node.op]: {key: node.value}}
        return {"$and" if isinstance(node, And) else "$or": [build(item) for item in node.items]}

    return build(expression)


def names_in(expression: Expr) -> list[str]:
    """The names a condition uses, in order of first use."""
    if isinstance(expression, Compare):
        return [expression.name]
    items = (expression.item,) if isinstance(expression, Not) else expression.items
    return list(dict.fromkeys(name for item in items for name in names_in(item)))


def to_sql(expression: Expr) -> str:
    """An SQL condition for a condition over a record's own columns (yes/no stored as 1 and 0).

    Values come from the parser as typed numbers, text and booleans, and are written as SQL
    literals (text quoted), never pasted from the source text.
    """
    def literal(value: Any) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (int, float)):
            return repr(value)
        return "'" + str(value).replace("'", "''") + "'"

    def build(node: Expr) -> str:
        if isinstance(node, Compare):
            op = "=" if node.op == "==" else "<>" if node.op == "!=" else node.op
            return f"[{node.name}] {op} {literal(node.value)}"
        if isinstance(node, Not):
            return f"NOT ({build(node.item)})"
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(build(item) for item in node.items) + ")"

    return build(expression)
