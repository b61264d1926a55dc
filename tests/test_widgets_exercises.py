"""The exercise widget, driven as a learner drives it: type or choose, click "Check", "Hint", "Show answer"."""

from __future__ import annotations

import ipywidgets as widgets
import pytest

from ekslib.errors import EkslibError
from ekslib.study.exercises import EXERCISES, Exercise, Solution, exercise
from ekslib.widgets.exercises import ExerciseWidget, exercises_for


def test_check_says_right_or_wrong_in_the_feedback():
    box = ExerciseWidget("01-c5xlarge-pods")
    assert isinstance(box.answer, widgets.Text) and "A c5.xlarge can attach 4 ENIs" in box.prompt.value
    assert box.feedback.value == ""
    box.answer.value = " 58 pods"
    box.check_button.click()
    assert 'class="ekslib-right"' in box.feedback.value and "Right: 58 pods" in box.feedback.value
    assert box.last.right
    box.answer.value = "56"
    box.check_button.click()
    assert 'class="ekslib-wrong"' in box.feedback.value and "Not 56: that counts the pod addresses only" in \
        box.feedback.value and not box.last.right


def test_a_choice_is_radio_buttons():
    ex = exercise("04-secondary-eni-exit")
    box = ExerciseWidget(ex)
    assert isinstance(box.answer, widgets.RadioButtons) and box.answer.options == ex.choices
    box.check_button.click()  # nothing chosen yet
    assert 'class="ekslib-unreadable"' in box.feedback.value and "No answer yet" in box.feedback.value
    box.answer.value = ex.answer
    box.check_button.click()
    assert f"Right: {ex.answer}" in box.feedback.value
    box.answer.value = "eth0"
    box.check_button.click()
    assert "Not eth0: " in box.feedback.value


def test_show_answer_reveals_it_and_the_hint_toggles():
    ex = exercise("05-private-internet-source")
    box = ExerciseWidget(ex)
    assert ex.answer not in box.feedback.value and "NAT gateway's Elastic IP is" in box.prompt.value
    box.reveal_button.click()
    assert 'class="ekslib-answer"' in box.feedback.value and f"The answer: {ex.answer}." in box.feedback.value
    box.hint_button.value = True
    assert "Hint: Count the translations" in box.hint.value
    box.hint_button.value = False
    assert box.hint.value == ""


def test_bad_input_shows_a_message_not_an_exception():
    box = ExerciseWidget("01-c5xlarge-pods")
    box.answer.value = "lots of pods"
    box.check_button.click()
    assert "'lots of pods' is not a number" in box.feedback.value and "ekslib-unreadable" in box.feedback.value
    box.answer.value = "<b>58</b>"  # escaped, not rendered
    box.check_button.click()
    assert "&lt;b&gt;" in box.feedback.value and box.message.value == ""


def test_a_failing_exercise_shows_a_message_not_a_traceback():
    def broken() -> Solution:
        raise EkslibError("no snapshot here")

    box = ExerciseWidget(Exercise("01-broken", "01_pod_capacity.ipynb", "How many {n}?", "number", broken,
                                  hint="none"))
    assert "no snapshot here" in box.message.value and "How many {n}?" in box.prompt.value
    box.message.value = ""
    box.answer.value = "3"
    box.check_button.click()
    assert "no snapshot here" in box.message.value and box.feedback.value == "" and box.last is None
    box.reveal_button.click()
    assert "Traceback" not in box.message.value + box.feedback.value


def test_exercises_for_lists_a_notebooks_exercises():
    for notebook in ("01_pod_capacity.ipynb", "07_real_kernel_lab.ipynb"):
        panel = exercises_for(notebook)
        assert isinstance(panel, widgets.VBox) and len(panel.children) >= 2
        assert [child.exercise.id for child in panel.children] == [e.id for e in EXERCISES[notebook]]
    assert len(exercises_for("03_nodes_and_pods").children) == len(EXERCISES["03_nodes_and_pods.ipynb"])
    with pytest.raises(EkslibError, match="no exercises for notebook"):
        exercises_for("99_nothing.ipynb")
