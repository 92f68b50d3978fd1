import pytest

from carecheck.domainkit.expressions import ExpressionError, negation_normal_form, parse, to_durable

NAMES = {"a": "number", "b": "number", "t.met": "bool", "t.status": "text"}


def test_compiles_to_a_single_fact_condition():
    assert to_durable(parse("a > 0 and not t.met", NAMES)) == {"$and": [{"$gt": {"a": 0}}, {"$neq": {"t__met": True}}]}
    assert to_durable(parse("not (a < 3 or t.status == 'recovered')", NAMES)) == {
        "$and": [{"$gte": {"a": 3}}, {"$neq": {"t__status": "recovered"}}]
    }
    assert to_durable(parse("2 <= b", NAMES)) == {"$gte": {"b": 2}}
    assert to_durable(parse("t.met", NAMES)) == {"t__met": True}
    assert to_durable(parse("not not a == 1.5", NAMES)) == {"a": 1.5}


def test_and_binds_tighter_than_or():
    assert to_durable(parse("a > 1 or a < 0 and b == 2", NAMES)) == {
        "$or": [{"$gt": {"a": 1}}, {"$and": [{"$lt": {"a": 0}}, {"b": 2}]}]
    }


@pytest.mark.parametrize(
    "text,message",
    [
        ("a > ", "position 5: expected a name or a value, found 'end of condition'"),
        # An unknown name lists what the domain has: its signals, or the close names.
        ("missing_rationale > 0", "position 1: unknown name 'missing_rationale' (signals: a, b; or TARGET.value, .met, .has_value, .numerator, .denominator, .status)"),
        ("a > 0 and (b < 1", "position 17: expected ')', found 'end of condition'"),
        ("a > b", "position 5: compare a name with a value, not with another name"),
        ("a == true", "position 1: a is number, compared with bool"),
        ("t.met > 1", "position 1: t.met is bool, compared with number"),
        ("t.status < 'x'", "position 1: t.status is text: only == and != apply"),
        ("a > 0 ; drop", "position 7: unexpected character ';'"),
        ("__import__('os')", "position 1: unknown name '__import__' (signals: a, b; or TARGET.value, .met, .has_value, .numerator, .denominator, .status)"),
        ("t.mett", "position 1: unknown name 't.mett' (did you mean t.met?)"),
        ("a > 0 b", "position 7: expected end of condition, found 'b'"),
        ("", "position 1: the condition is empty"),
    ],
)
def test_errors_name_the_position(text, message):
    with pytest.raises(ExpressionError) as error:
        parse(text, NAMES)
    assert str(error.value) == message


def test_negation_normal_form_has_no_not():
    expression = negation_normal_form(parse("not (a > 1 and not (b < 2 or t.met))", NAMES))
    assert "Not(" not in repr(expression)
