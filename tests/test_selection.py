"""The rule that decides whether a candidate model replaces the default, on evaluate_scores' metrics."""

from __future__ import annotations

import pytest
from lsst.meas.realbogus.evaluation.selection import SelectionRule, confident_bogus, judge_candidate


def _tests(metrics, **kwargs) -> dict:
    """Each part's tests, all simulated by ``metrics`` (the ``simulated_metrics`` fixture)."""
    return {
        "inDomain": {"variety": metrics(1, **kwargs)},
        "shifted": {"s2": metrics(2, **kwargs), "s3": metrics(3, **kwargs)},
        "sharp": {"sharp": metrics(4, **kwargs)},
        "coarse": {"coarse": metrics(5, **kwargs)},
    }


def test_a_model_against_itself_passes_every_clause(simulated_metrics):
    tests = _tests(simulated_metrics)
    clauses = judge_candidate(tests, tests)
    assert clauses and all(c.passed for c in clauses)
    # Every part is judged: in-domain targets, each shifted tract and the pool, sharp's kinds, coarse.
    named = {(c.test, c.figure) for c in clauses}
    assert ("inDomain variety", "S/N > 6 purity") in named and ("coarse coarse", "AUC") in named
    assert ("shifted pooled", "nuclear_residual above 0.99") in named
    assert ("sharp sharp", "glint above 0.99") in named and ("shifted s3", "MDR at 1% FPR") in named


def test_confident_bogus_kinds_are_pooled_over_the_shifted_tracts(simulated_metrics):
    # 1 of 100 nuclear residuals above 0.99 on each tract: 1% on each, 2 of 200 pooled: at the limit.
    assert confident_bogus([simulated_metrics(2, nuclear_above=1), simulated_metrics(3, nuclear_above=1)])[
        "nuclear_residual"
    ] == (2, 200)
    reference = _tests(simulated_metrics)
    candidate = _tests(simulated_metrics)
    # 2 of 100 on one tract is 2 of 200 pooled: at the limit, so it passes; 3 of 200 does not.
    candidate["shifted"]["s3"] = simulated_metrics(3, nuclear_above=2)
    assert all(c.passed for c in judge_candidate(candidate, reference))
    candidate["shifted"]["s3"] = simulated_metrics(3, nuclear_above=3)
    failed = [c for c in judge_candidate(candidate, reference) if not c.passed]
    assert ("shifted pooled", "nuclear_residual above 0.99", "3 of 200") in {
        (c.test, c.figure, c.candidate) for c in failed
    }
    with pytest.raises(ValueError, match="above 0.99 per kind only"):
        confident_bogus([simulated_metrics(2)], score=0.9)


def test_losses_against_the_reference_and_absolute_targets_fail(simulated_metrics):
    reference = _tests(simulated_metrics)
    # Sharp glints (an absolute clause, whatever the reference does) and a weaker in-domain test.
    candidate = _tests(simulated_metrics)
    candidate["sharp"]["sharp"] = simulated_metrics(4, glints_above=2)
    candidate["inDomain"]["variety"] = simulated_metrics(1, shift=1.5)
    failed = {(c.test, c.figure) for c in judge_candidate(candidate, reference) if not c.passed}
    assert ("sharp sharp", "glint above 0.99") in failed
    assert {("inDomain variety", "AUC"), ("inDomain variety", "MDR at 1% FPR")} <= failed
    assert not any(test.startswith(("shifted", "coarse")) for test, _ in failed)
    # A looser rule lets the same candidate through on the glints.
    loose = SelectionRule(maxConfidentFraction=0.05)
    assert ("sharp sharp", "glint above 0.99") not in {
        (c.test, c.figure) for c in judge_candidate(candidate, reference, loose) if not c.passed
    }


def test_every_judged_kind_may_have_one_confident_detection(simulated_metrics):
    reference = _tests(simulated_metrics)
    candidate = _tests(simulated_metrics)
    # 52 glints: 1% of them is no detection at all, but the rule allows one.
    reference["sharp"]["sharp"] = simulated_metrics(4, glints=52)
    candidate["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=1)
    clauses = judge_candidate(candidate, reference)
    (glints,) = [c for c in clauses if (c.test, c.figure) == ("sharp sharp", "glint above 0.99")]
    assert glints.passed and glints.candidate == "1 of 52" and glints.limit.startswith("<= 1 of 52")
    candidate["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=2)
    failed = [c for c in judge_candidate(candidate, reference) if not c.passed]
    assert [(c.test, c.figure) for c in failed] == [("sharp sharp", "glint above 0.99")]
    # The earlier rule, which allowed no detection below 100, fails one.
    candidate["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=1)
    strict = SelectionRule(confidentAllowance=0)
    assert not all(c.passed for c in judge_candidate(candidate, reference, strict))
    # Above 200 detections the fraction allows more than the allowance: 3 of 300 pass, 4 do not.
    reference["sharp"]["sharp"] = simulated_metrics(4, glints=300)
    for above, passed in ((3, True), (4, False)):
        candidate["sharp"]["sharp"] = simulated_metrics(4, glints=300, glints_above=above)
        clauses = judge_candidate(candidate, reference)
        (glints,) = [c for c in clauses if (c.test, c.figure) == ("sharp sharp", "glint above 0.99")]
        assert glints.passed == passed and glints.limit.startswith("<= 3 of 300")


def test_small_kinds_are_not_judged_by_their_fraction(simulated_metrics):
    tests = _tests(simulated_metrics)
    rule = SelectionRule(minKindCount=101)  # glints and nuclear residuals have 100 each
    glints = [c.test for c in judge_candidate(tests, tests, rule) if c.figure.startswith("glint")]
    assert glints == ["shifted pooled"]  # 200 of them over the two shifted tracts


def test_the_two_models_must_share_their_tests(simulated_metrics):
    reference = _tests(simulated_metrics)
    candidate = _tests(simulated_metrics)
    del candidate["shifted"]["s3"]
    with pytest.raises(ValueError, match=r"shifted: the candidate was evaluated on \['s2'\]"):
        judge_candidate(candidate, reference)
    with pytest.raises(ValueError, match="unknown parts"):
        judge_candidate({"narrow": {}}, {"narrow": {}})


def test_a_target_the_reference_misses_too_needs_only_no_worse(simulated_metrics):
    reference = _tests(simulated_metrics)
    candidate = _tests(simulated_metrics)
    # The reference has 4 of 52 sharp glints above 0.99, over the target's 1; 3 are no worse, 5 are.
    reference["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=4)
    for above, passed in ((3, True), (4, True), (5, False)):
        candidate["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=above)
        (glints,) = [
            c
            for c in judge_candidate(candidate, reference)
            if (c.test, c.figure) == ("sharp sharp", "glint above 0.99")
        ]
        assert glints.passed == passed and "which fails it (4 of 52)" in glints.limit
    # Under the rule of absolute targets (rbsim13's pre-registered one) 3 of 52 fail.
    candidate["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=3)
    absolute = SelectionRule(noWorseWhereReferenceFails=False)
    failed = [(c.test, c.figure) for c in judge_candidate(candidate, reference, absolute) if not c.passed]
    assert failed == [("sharp sharp", "glint above 0.99")]
    # Where the reference meets the target, the candidate must meet it too.
    reference["sharp"]["sharp"] = simulated_metrics(4, glints=52, glints_above=1)
    (glints,) = [
        c
        for c in judge_candidate(candidate, reference)
        if (c.test, c.figure) == ("sharp sharp", "glint above 0.99")
    ]
    assert not glints.passed and "reference" not in glints.limit
    # A model that misses targets passes every clause against itself (in-domain MDR and completeness
    # too: weak scores miss them), and a better one passes where an absolute rule fails it.
    weak = _tests(simulated_metrics, shift=1.2)
    assert not all(c.passed for c in judge_candidate(weak, weak, absolute))
    assert all(c.passed for c in judge_candidate(weak, weak))
