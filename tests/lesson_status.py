"""Which lessons have been rebuilt for learning by doing (issue 10).

A lesson listed here must meet the template test (``test_notebooks.py``) and the pasted-solution
test (``test_solutions_paste.py``); a lesson not listed yet is a strict xfail there (a known gap
that fails the run once it is closed without being listed). Every lesson must be here when the
issue closes.
"""

LEARNING_BY_DOING: set[str] = {"00", "01", "02", "03", "04", "05", "06", "07", "08"}
