import pytest

from carecheck.verdict.levels import series_status


def series(*values, threshold=0.95):
    return [
        {"period": f"2026-{i + 1:02d}", "value": v, "met": None if v is None else v >= threshold}
        for i, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    "values,expected,baseline,current",
    [
        ((0.5, 0.96, 0.97, 1.0), "recovered", 0.5, 1.0),  # last three met
        ((0.96, None, 0.97, 1.0), "recovered", 0.96, 1.0),  # an empty period neither counts nor breaks the run
        ((0.5, 0.6, 0.96, 0.97), "improving", 0.5, 0.97),  # met twice, not yet three
        ((0.5, 0.96, 0.97, 0.9), "deteriorating", 0.5, 0.9),  # missed after being met: drift
        ((0.7, 0.6, 0.65), "not_improving", 0.7, 0.65),
        ((0.7, 0.8, None), "insufficient_evidence", 0.7, None),  # no value in the current period
        ((), "insufficient_evidence", None, None),
    ],
)
def test_status_rules(values, expected, baseline, current):
    result = series_status(series(*values), direction="at_least", sustained=3, baseline_rule="first", stale=False)
    assert (result.status, result.baseline, result.current) == (expected, baseline, current)


def test_stale_source_makes_evidence_insufficient():
    result = series_status(series(0.96, 0.97, 0.99), direction="at_least", sustained=3, baseline_rule="first", stale=True)
    assert result.status == "insufficient_evidence"
    assert result.reason == "a source it needs is stale"


def test_named_and_fixed_baselines():
    data = series(0.4, 0.5, 0.6, 0.7)
    named = series_status(data, direction="at_least", sustained=3, baseline_rule={"period": "2026-02", "value": None},
                          stale=False)
    assert (named.baseline, named.status) == (0.5, "improving")
    fixed = series_status(data, direction="at_least", sustained=3, baseline_rule={"period": None, "value": 0.8},
                          stale=False)
    assert (fixed.baseline, fixed.status) == (0.8, "not_improving")


def test_at_most_direction():
    data = [{"period": "a", "value": 0.3, "met": False}, {"period": "b", "value": 0.2, "met": False}]
    result = series_status(data, direction="at_most", sustained=3, baseline_rule="first", stale=False)
    assert result.status == "improving"  # lower is better
    assert result.trend == "falling"
