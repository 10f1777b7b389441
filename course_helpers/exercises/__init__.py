"""Exercises of every lesson: one module per lesson (``lesson01.py``...), each calling
:func:`course_helpers.checks.register` at import. ``checks.exercises()`` imports them all."""
