"""Thin ipywidgets GUIs over the figures: controls in, a figure or a message out; no logic, never a traceback."""
