"""The notebooks' "predict, then check" exercises: every answer comes from ekslib, is accepted when typed as a
learner types it, and every wrong answer gets a "why"; bad input gets a message, never an exception."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ekslib.errors import EkslibError
from ekslib.study.exercises import EXERCISES, KINDS, Exercise, Solution, exercise, exercises_of, parse_number

ROOT = Path(__file__).resolve().parents[1]
ALL = [e for exercises in EXERCISES.values() for e in exercises]
IDS = [e.id for e in ALL]


def test_each_notebook_01_to_07_has_at_least_two_exercises():
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
    assert len(lessons) == 7 and sorted(EXERCISES) == lessons
    for notebook, exercises in EXERCISES.items():
        assert len(exercises) >= 2, notebook
        assert all(e.notebook == notebook and e.id.startswith(notebook[:2] + "-") for e in exercises)
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_the_right_answer_is_accepted(ex):
    assert ex.kind in KINDS and ex.source and ex.hint
    assert "{" not in ex.question and ex.question.endswith("?")
    answer = ex.answer
    if ex.kind == "choice":
        assert answer in ex.choices
        typed = [answer, f"  {answer.upper()}  "]
    elif ex.kind == "number":
        assert isinstance(answer, int) and not isinstance(answer, bool)
        typed = [answer, str(answer), f" {answer} {ex.unit or 'of them'} "]
        assert str(answer) in ex.solution.why  # the explanation says the number it explains
    else:
        assert isinstance(answer, str) and answer in ex.solution.why
        typed = [answer, f" {answer.upper()} "]
    for given in typed:
        feedback = ex.check(given)
        assert feedback.right and feedback.valid and feedback.message.startswith("Right: "), (given, feedback)
        assert ex.solution.why in feedback.message  # says why
    assert answer not in ex.solution.mistakes, "a 'why not' for the right answer: the library and the text disagree"
    revealed = ex.answer_text()
    assert str(answer) in revealed and ex.solution.why in revealed and ex.source in revealed


def _wrong_answers(ex: Exercise) -> list:
    if ex.kind == "choice":
        return [c for c in ex.choices if c != ex.answer]
    if ex.kind == "number":
        return [ex.answer + 1, ex.answer - 1, *ex.solution.mistakes]
    return ["203.0.113.250", *ex.solution.mistakes]


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_a_wrong_answer_is_rejected_with_a_why(ex):
    for given in _wrong_answers(ex):
        feedback = ex.check(str(given))
        assert not feedback.right and feedback.valid, (given, feedback)
        assert feedback.message.startswith(f"Not {given}: ") and len(feedback.message) > len(f"Not {given}: ") + 20
        if ex.kind != "choice":  # the why does not give the answer away
            assert not re.search(rf"(?<![\d.]){re.escape(str(ex.answer))}(?![\d.])", feedback.message.split(": ", 1)[1])
        if given in ex.solution.mistakes:
            assert ex.solution.mistakes[given] in feedback.message
        else:
            assert ex.hint in feedback.message
    if ex.kind == "choice":  # every wrong choice has its own why
        assert set(ex.choices) - {ex.answer} <= set(ex.solution.mistakes)


@pytest.mark.parametrize("ex", ALL, ids=IDS)
def test_unreadable_answers_get_a_message_not_an_exception(ex):
    for given in (None, "", "   ", "???", "lots", object()):
        feedback = ex.check(given)
        assert not feedback.right and not feedback.valid and feedback.message, (given, feedback)
    if ex.kind == "number":
        assert "is not a number" in ex.check("lots").message
    elif ex.kind == "choice":
        assert "is not one of the choices" in ex.check("lots").message and ex.choices[0] in ex.check("x").message


def test_numbers_are_read_tolerantly():
    assert parse_number("29") == parse_number(" 29 pods") == parse_number("29.") == parse_number(29.0) == 29
    assert parse_number("3 x (6 - 1) + 2") == parse_number("3*5+2") == parse_number("max pods = 17") == 17
    assert parse_number("0x80") == 128 and parse_number("1,391") == 1391 and parse_number("29.5") == 29.5
    for bad in ("29 or 30", "2,3", "10**100", "1/0", "1e3", True, "", "x"):
        with pytest.raises(EkslibError, match="is not a number"):
            parse_number(bad)
    c5 = exercise("01-c5xlarge-pods")
    assert c5.check("4 x (15 - 1) + 2").right and c5.check("58.0").right
    assert c5.check("58.5").message == "Not 58.5: the answer is a whole number of pods."
    assert c5.check("57").message.startswith("Not 57: that is too low. Hint: ")
    assert "Not 4 x 15 (= 60): that gives every address to pods" in c5.check("4 x 15").message
    assert exercise("07-conntrack-mark").check("0x80").right


def test_choices_and_texts_ignore_case_spacing_and_a_port():
    exit_eni = exercise("04-secondary-eni-exit")
    assert exit_eni.check(" ETH1 ").right and not exit_eni.check("eth0").right
    assert "'eth 1' is not one of the choices: eth0; eth1; eth2" in exit_eni.check("eth 1").message
    internet = exercise("05-private-internet-source")
    address = internet.answer
    assert internet.check(f"{address}:50697").right and internet.check(f" `{address}`. ").right
    assert "is not an IPv4 address" in internet.check("the NAT gateway").message
    node = str(internet.solution.facts["node"])
    assert internet.check(node).message.startswith(f"Not {node}: that is after the node's SNAT")


def test_answers_are_the_library_s():
    from ekslib.capacity import max_pods
    from ekslib.flows.scenarios import scenario

    assert exercise("01-c5xlarge-pods").answer == max_pods("c5.xlarge")
    assert exercise("05-private-internet-source").answer == str(scenario("pod-to-internet").seen_source.ip)
    drop = next(h for h in scenario("nodeport", external_traffic_policy="Local", local_endpoint=False).hops
                if h.kind == "drop")
    nodeport = exercise("06-nodeport-local-drop")
    assert nodeport.answer == drop.where.chain and drop.rule in nodeport.explanation


def test_unknown_ids_and_notebooks_name_close_matches():
    with pytest.raises(EkslibError, match=r"unknown exercise '01-c5xlarge-pod'; did you mean 01-c5xlarge-pods"):
        exercise("01-c5xlarge-pod")
    with pytest.raises(EkslibError, match="unknown exercise 42"):
        exercise(42)
    assert exercises_of("04_pod_to_pod") == exercises_of("04_pod_to_pod.ipynb") == EXERCISES["04_pod_to_pod.ipynb"]
    with pytest.raises(EkslibError, match="did you mean 04_pod_to_pod.ipynb"):
        exercises_of("04_pod_to_pods.ipynb")


def test_solutions_are_computed_once_and_only_when_asked():
    calls = []

    def solve() -> Solution:
        calls.append(1)
        return Solution(3, "3 because of the test.", facts={"n": 3})

    ex = Exercise("02-test", "02_ip_address_management.ipynb", "Count {n}?", "number", solve, hint="count")
    assert calls == []
    assert (ex.answer, ex.question, ex.check("3").right, ex.answer) == (3, "Count 3?", True, 3)
    assert calls == [1]


def test_exercises_are_checked_when_made():
    solve = lambda: Solution(1, "")
    with pytest.raises(EkslibError, match="kind 'word'"):
        Exercise("01-x", "01_pod_capacity.ipynb", "?", "word", solve)
    with pytest.raises(EkslibError, match="two choices"):
        Exercise("01-x", "01_pod_capacity.ipynb", "?", "choice", solve, choices=("only",))
    with pytest.raises(EkslibError, match="starts with its notebook's number"):
        Exercise("02-x", "01_pod_capacity.ipynb", "?", "number", solve)


def test_importing_the_exercises_loads_nothing_heavy():
    code = ("import sys, ekslib.study.exercises as e; assert len(e.EXERCISES) == 7; "
            "print(sorted(m for m in ('pandas', 'numpy', 'networkx', 'ekslib.flows') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
