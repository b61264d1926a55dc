"""Figures over the models: functions that take model results and return a ``plotly.graph_objects.Figure``.

They never display anything and never read a model's private fields. One module per room of the course
(:mod:`~ekslib.figures.capacity`, :mod:`~ekslib.figures.ipam`, :mod:`~ekslib.figures.cluster`,
:mod:`~ekslib.figures.dataplane`, :mod:`~ekslib.figures.flows`), sharing one template (:mod:`~ekslib.figures.theme`).
"""
