"""Interactive ipywidgets panels, one module per lesson topic.

Each panel is a small class: ``.widget`` is what the notebook displays, and the
button handlers are plain methods (``send()``, ``run()``...) that tests call directly.
Panels write results into widget *state* (HTML, Image), never into ``Output`` widgets
at build time, so stored notebooks and nbval agree. Core pieces (provider, checks,
project) know nothing of panels; panels build on them.
"""
