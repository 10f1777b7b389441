"""panel(): what every lesson panel gets before it is shown (issue 12: first screen)."""

from __future__ import annotations

import ipywidgets as widgets

from course_helpers.panels.common import panel


def test_panel_widens_labels_and_buttons_and_hides_empty_images() -> None:
    slider = widgets.FloatSlider(description="temperature")
    fixed = widgets.IntSlider(description="Запросов в серии:", style={"description_width": "190px"})
    button = widgets.Button(description="Очистить график")
    image = widgets.Image(format="png")
    box = panel(widgets.VBox([slider, widgets.HBox([button, fixed]), image]))

    assert slider.style.description_width == "initial", "the default 80 px cuts «temperature»"
    assert fixed.style.description_width == "190px", "a width the panel chose stays"
    assert button.layout.width == "auto"
    assert image.layout.display == "none", "an empty image shows a broken-image icon"
    image.value = b"\x89PNG fake"
    assert image.layout.display is None
    image.value = b""
    assert image.layout.display == "none"
    assert isinstance(box, widgets.VBox)
