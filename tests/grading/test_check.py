import importlib
import random

import numpy as np
import torch

from coursekit import check, hint, solution

check_module = importlib.import_module("coursekit.grading.check")  # the attribute is the function


def scale_and_shift(x, a, b):
    return a * x + b


def test_correct_answer_passes_with_points():
    result = check(scale_and_shift)
    assert result.status == "pass" and result.points == 1 and result.passed == result.total == 3
    assert "All cases pass" in result._repr_html_() and "coursekit-pass" in result._repr_html_()


def test_value_answers_and_explicit_ids():
    assert check("scale_and_shift", scale_and_shift).status == "pass"
    assert check("scale_and_shift", None).status == "not_attempted"


def test_check_never_raises_whatever_it_is_given():
    def scale_and_shift(x):  # wrong arity
        return x

    class Exploding:
        __name__ = "scale_and_shift"

        def __call__(self, *args):
            raise SystemExit("bye")

    odd_inputs = [42, None, "nonexistent_exercise", object(), lambda x: x, scale_and_shift, Exploding(),
                  ("scale_and_shift", 3)]
    for value in odd_inputs:
        result = check(*value) if isinstance(value, tuple) else check(value)
        text = repr(result) + result._repr_html_()
        assert text
    assert check(scale_and_shift).status == "error"
    assert "takes 1 positional argument" in check(scale_and_shift).verdict.message
    assert check(Exploding()).status == "error"
    assert "Did you mean" in repr(check("scale_and_shif", 1))


def test_check_leaves_random_state_dtype_and_grad_mode_alone():
    def scale_and_shift(x, a, b):
        torch.manual_seed(999)
        np.random.seed(999)
        random.seed(999)
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(False)
        torch.rand(100)
        return a * x + b

    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    before = torch.get_default_dtype(), torch.is_grad_enabled()
    assert check(scale_and_shift).status == "pass"
    after = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], after[0]) and np.array_equal(expected[1], after[1])
    assert expected[2] == after[2]
    assert (torch.get_default_dtype(), torch.is_grad_enabled()) == before


def test_keyboard_interrupt_is_reported_not_raised():
    def scale_and_shift(x, a, b):
        raise KeyboardInterrupt

    result = check(scale_and_shift)
    assert result.status == "usage" and "interrupted" in repr(result)


def test_inputs_are_fresh_copies_each_time():
    seen = []

    def scale_and_shift(x, a, b):
        seen.append(x)
        x.add_(100)
        return a * x + b

    first = check(scale_and_shift)
    assert "modified its input x in place" in first.verdict.message
    second = check(scale_and_shift)
    assert repr(first) == repr(second)  # the stored case was not corrupted by the first run


def test_hints_step_through_then_repeat_the_last():
    check_module._hints_shown.pop("scale_and_shift", None)
    first, second, third = (hint("scale_and_shift") for _ in range(3))
    assert first.title.startswith("Hint 1 of 2") and second.title.startswith("Hint 2 of 2")
    assert third.title.startswith("Hint 2 of 2")
    assert "Did you mean" in repr(hint("scale_and_shif"))


def test_solution_needs_confirmation_and_can_be_switched_off(monkeypatch):
    assert "reveal=True" in repr(solution("scale_and_shift"))
    shown = solution("scale_and_shift", reveal=True)
    assert "return a * x + b" in shown.body and "<pre" in shown._repr_html_()
    monkeypatch.setenv("COURSEKIT_NO_SOLUTIONS", "1")
    off = solution("scale_and_shift", reveal=True)
    assert "switched off" in off.title and "a * x + b" not in repr(off)


def test_backticks_in_hints_render_as_code_in_html():
    from coursekit.grading.check import rich_text

    assert rich_text("use `x.clone()` here") == "use <code>x.clone()</code> here"
    assert rich_text("a `<b>` tag") == "a <code>&lt;b&gt;</code> tag"
    assert rich_text("an odd ` backtick") == "an odd ` backtick"

    def softmax(z, dim=-1):
        e = z.exp()
        return e / e.sum(dim=dim, keepdim=True)

    result = check(softmax)
    assert "`dim`" in result.verdict.hint  # the hint text keeps its backticks ...
    html = result._repr_html_()
    assert "<code>dim</code>" in html and "`" not in html  # ... the HTML shows them as code
