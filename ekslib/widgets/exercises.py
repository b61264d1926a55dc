"""A thin GUI over :mod:`ekslib.study.exercises`: a question, an answer box, "Check", "Hint" and "Show answer".

All the judging is :meth:`ekslib.study.exercises.Exercise.check`; the widget only passes the learner's answer and
shows the :class:`~ekslib.study.exercises.Feedback` (green when right, red when wrong, orange when the answer could
not be read). Anything that fails shows a message, never a traceback.

>>> from ekslib.widgets.exercises import ExerciseWidget, exercises_for
>>> box = ExerciseWidget("01-c5xlarge-pods")
>>> box.answer.value = "58 pods"
>>> box.check_button.click()
>>> box.feedback.value.startswith('<div class="ekslib-right"') and "Right: 58 pods" in box.feedback.value
True
>>> len(exercises_for("01_pod_capacity.ipynb").children) >= 2
True
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ekslib.study.exercises import Exercise, Feedback, exercise, exercises_of
from ekslib.widgets.common import guarded

__all__ = ["ExerciseWidget", "exercises_for", "feedback_html"]

#: Feedback colours: right, wrong, an answer that could not be read, the revealed answer.
COLOURS = {"right": "#1b7f3b", "wrong": "#b00020", "unreadable": "#b26a00", "answer": "#1f4e8c"}


def feedback_html(feedback: Feedback) -> str:
    """A verdict as HTML: a tick in green when right, a cross in red when wrong, orange when unreadable."""
    state = "right" if feedback.right else "wrong" if feedback.valid else "unreadable"
    mark = {"right": "✔", "wrong": "✘", "unreadable": "?"}[state]
    return (f'<div class="ekslib-{state}" style="color:{COLOURS[state]}; white-space:pre-wrap">'
            f"<b>{mark}</b> {html.escape(feedback.message, quote=False)}</div>")


class ExerciseWidget(widgets.VBox):
    """One exercise (an :class:`~ekslib.study.exercises.Exercise` or its id): the question, a box for a number
    or a text, or radio buttons for a choice; "Check" shows the verdict in ``feedback``, "Hint" toggles the hint,
    "Show answer" reveals the answer and why. ``message`` holds an error (never a traceback); ``last`` the latest
    :class:`~ekslib.study.exercises.Feedback`.
    """

    def __init__(self, which: Exercise | str) -> None:
        self.message = widgets.HTML()
        self.exercise = which if isinstance(which, Exercise) else exercise(which)
        self.last: Feedback | None = None
        ex = self.exercise
        question = guarded(self.message, lambda: ex.question)
        self.prompt = widgets.HTML(
            f'<div style="margin-top:0.5em"><b>{html.escape(ex.id)}</b>: '
            f"{html.escape(question if question is not None else ex.prompt, quote=False)}</div>")
        if ex.kind == "choice":
            self.answer = widgets.RadioButtons(options=list(ex.choices), value=None,
                                               layout=widgets.Layout(width="max-content"))
        else:
            example = "a number, e.g. 17 or 3 x 5 + 2" if ex.kind == "number" else "your answer"
            self.answer = widgets.Text(placeholder=example, layout=widgets.Layout(width="320px"))
        self.check_button = widgets.Button(description="Check", button_style="primary", icon="check")
        self.hint_button = widgets.ToggleButton(description="Hint", icon="question", value=False,
                                                disabled=not ex.hint)
        self.reveal_button = widgets.Button(description="Show answer", icon="eye")
        self.hint = widgets.HTML()
        self.feedback = widgets.HTML()
        super().__init__([self.prompt, self.answer,
                          widgets.HBox([self.check_button, self.hint_button, self.reveal_button]),
                          self.hint, self.feedback, self.message])
        self.check_button.on_click(lambda _button: self.check())
        self.reveal_button.on_click(lambda _button: self.reveal())
        self.hint_button.observe(lambda change: self.show_hint(change["new"]), "value")

    def check(self) -> Feedback | None:
        """Judge what the answer box holds and show the verdict."""
        self.last = guarded(self.message, lambda: self.exercise.check(self.answer.value))
        self.feedback.value = "" if self.last is None else feedback_html(self.last)
        return self.last

    def reveal(self) -> None:
        """Show the answer and its explanation."""
        text = guarded(self.message, self.exercise.answer_text)
        if text is not None:
            self.feedback.value = (f'<div class="ekslib-answer" style="color:{COLOURS["answer"]}; '
                                   f'white-space:pre-wrap">{html.escape(text, quote=False)}</div>')

    def show_hint(self, shown: bool = True) -> None:
        """Show (or hide) the hint."""
        hint = self.exercise.hint
        self.hint.value = f"<i>Hint: {html.escape(hint, quote=False)}</i>" if shown and hint else ""


def exercises_for(notebook: str) -> widgets.VBox:
    """Every exercise of ``notebook`` (its file name, e.g. ``"01_pod_capacity.ipynb"``), one under the other."""
    return widgets.VBox([ExerciseWidget(e) for e in exercises_of(notebook)])
