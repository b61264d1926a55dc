"""The study experience around the notebooks: exercises that check themselves, the navigation and Binder badges
of every notebook, and the static site that reads without a kernel.

Above the model rooms (an exercise computes its answer with :mod:`ekslib.capacity`, :mod:`ekslib.flows`...),
below :mod:`ekslib.figures` and :mod:`ekslib.widgets` (the exercise widget is a thin GUI over
:mod:`ekslib.study.exercises`).
"""
