import numpy as np
import torch

from coursekit.exercises import Case, Exercise, Mistake
from coursekit.grading.compare import ErrorInfo, Outcome, compare, describe_call, judge
from coursekit.grading.plain import encode


def _exercise(**kw):
    defaults = dict(id="demo", notebook="zz_demo", title="demo", reference=lambda x: x * 2,
                    public_cases=lambda: [Case((torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),))])
    defaults.update(kw)
    return Exercise(**defaults)


def t(values, dtype=torch.float64, **kw):
    return encode(torch.tensor(values, dtype=dtype, **kw))


def test_match_within_tolerance_passes():
    ex = _exercise()
    assert compare(t([1.0, 2.0]), t([1.0, 2.0 + 1e-9]), ex) is None


def test_first_mismatch_and_error_sizes_are_reported():
    msg = compare(t([1.0, 2.0, 3.0]), t([1.0, 2.5, 3.0]), _exercise())
    assert "First mismatch at index 1: expected 2.0, got 2.5" in msg
    assert "1 of 3 entries differ" in msg and "max abs error 0.5" in msg and "rtol=1e-06" in msg


def test_shape_dtype_and_type_problems_are_named():
    ex = _exercise()
    assert "Wrong shape: expected (3,), got (3, 1)" in compare(t([1.0, 2, 3]), t([[1.0], [2], [3]]), ex)
    assert "transpose" in compare(t([[1.0, 2]]), t([[1.0], [2]]), ex)
    assert "Wrong dtype: expected float64, got float32" in compare(t([1.0]), t([1.0], torch.float32), ex)
    assert "NumPy array" in compare(t([1.0]), encode(np.array([1.0])), ex)
    assert "got a str" in compare(t([1.0]), "1.0", ex)


def test_nan_and_inf_are_called_out_with_the_likely_cause():
    msg = compare(t([0.5, 1.0]), t([0.5, float("inf")]), _exercise())
    assert "contains inf at index 1" in msg and "overflow" in msg


def test_attached_tensor_where_a_number_is_asked():
    x = torch.tensor(2.0, requires_grad=True)
    msg = compare(0.5, encode(x * 0.25), _exercise())
    assert ".item()" in msg
    assert compare(0.5, encode(torch.tensor(0.5)), _exercise()) is None


def test_tuples_name_their_parts_and_strings_ignore_case():
    ex = _exercise(output_names=("grad_W", "grad_b"))
    msg = compare((t([1.0]), t([2.0])), (t([1.0]), t([3.0])), ex)
    assert msg.startswith("In grad_b:")
    assert compare("saddle", " Saddle ", ex) is None
    assert "Expected 'saddle', got 'minimum'" in compare("saddle", "minimum", ex)


def test_hidden_cases_show_no_values():
    msg = compare(t([1.234567, 2.0]), t([9.87654, 2.0]), _exercise(), hidden=True)
    assert "1.23457" not in msg and "9.87654" not in msg and "1 of 2 entries" in msg
    # the size of the error would give the expected value away (expected = got - error)
    assert "8.64197" not in msg and "error" not in msg
    scalar = compare(1.25, 3.75, _exercise(), hidden=True)
    assert scalar.startswith("Wrong value") and "2.5" not in scalar and "1.25" not in scalar


def test_deprecation_notices_are_not_numerical_warnings():
    import warnings

    from coursekit.grading.check import run_case

    ex = _exercise()

    def noisy(x):
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        return x * 2

    outcome = run_case(ex, ex.cases()[0], noisy)
    assert outcome.warnings == ("RuntimeWarning: overflow encountered in exp",)


def test_judge_explains_errors_none_mutation_and_known_mistakes():
    ex = _exercise(mistakes=(Mistake("triple", "You multiplied by 3.", wrong=lambda x: x * 3),
                             Mistake("neg", "Sign flipped.", test=lambda c, e, g: np.allclose(g.data, -e.data))))
    case = ex.cases()[0]
    expected = encode(ex.expected(case))
    assert judge(ex, case, expected, Outcome(error=ErrorInfo("NotImplementedError", "")),
                 number=1).status == "not_attempted"
    none = judge(ex, case, expected, Outcome(value=None), number=1)
    assert none.status == "not_attempted" and "return" in none.message
    err = judge(ex, case, expected, Outcome(error=ErrorInfo("ValueError", "bad")), number=1)
    assert err.status == "error" and "raised ValueError: bad" in err.message and "demo(x=tensor([1., 2., 3.]))" \
        in err.message
    mutated = judge(ex, case, expected, Outcome(value=expected, mutated=("x",)), number=1)
    assert mutated.status == "fail" and "modified its input x in place" in mutated.message
    assert judge(ex, case, expected, Outcome(value=t([3.0, 6.0, 9.0])), number=1).hint == "You multiplied by 3."
    assert judge(ex, case, expected, Outcome(value=t([-2.0, -4.0, -6.0])), number=1).hint == "Sign flipped."
    assert judge(ex, case, expected, Outcome(value=expected), number=1).passed


def test_warning_free_exercises_fail_on_warnings():
    ex = _exercise(warning_free=True)
    case = ex.cases()[0]
    expected = encode(ex.expected(case))
    verdict = judge(ex, case, expected, Outcome(value=expected, warnings=("RuntimeWarning: overflow",)), number=1)
    assert verdict.status == "fail" and "overflow" in verdict.message


def test_describe_call_uses_parameter_names():
    ex = _exercise(reference=lambda x, scale=1.0: x * scale)
    case = Case((torch.tensor([1.0], dtype=torch.float64),), {"scale": 2.0})
    assert describe_call(ex, case) == "demo(x=tensor([1.]), scale=2.0)"
    big = Case((torch.zeros(4, 5, dtype=torch.float64),))
    assert "tensor of shape (4, 5) (float64, values in [0.0, 0.0])" in describe_call(ex, big)


def test_relative_error_is_left_out_where_the_expected_entries_are_zero():
    msg = compare(t([0.0, 0.0]), t([0.0, 1e-3]), _exercise())
    assert "max abs error 0.001" in msg and "rel" not in msg and "e+307" not in msg
    # over entries that are not all zero, the relative error is over the non-zero ones only
    msg = compare(t([0.0, 2.0]), t([1e-3, 3.0]), _exercise())
    assert "max rel error 0.5" in msg


def test_case_weights_decide_the_points():
    from coursekit.grading.compare import Verdict, tally

    verdicts = [Verdict("pass"), Verdict("fail", "no"), Verdict("pass")]
    assert tally(verdicts, 1.0) == (2, 0.67, verdicts[1])
    assert tally(verdicts, 1.0, [1.0, 2.0, 1.0])[1] == 0.5
    assert tally(verdicts, 2.0, [0.25, 0.5, 0.25])[1] == 1.0


def test_a_broken_rule_fails_the_case_with_its_message_even_when_the_values_are_right():
    ex = _exercise()
    verdict = judge(ex, ex.public_cases()[0], t([2.0, 4.0, 6.0]),
                    Outcome(value=t([2.0, 4.0, 6.0]), violation="This exercise asks: no."), number=1)
    assert verdict.status == "fail" and verdict.message.endswith("This exercise asks: no.")
