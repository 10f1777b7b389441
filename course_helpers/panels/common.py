"""Small shared pieces of the lesson panels: HTML tables, figures as PNG bytes, and
:func:`panel`, which every lesson panel (00–07) passes its box through before showing it."""

from __future__ import annotations

import html
import io
from typing import Any, Sequence

import ipywidgets as widgets
from IPython.display import HTML, display
from matplotlib.figure import Figure  # drawn without pyplot: inline plots in the kernel stay untouched

#: Shown above every panel as a plain output, so a saved lesson says it too (a saved widget
#: shows nothing, or «model not found», until its cell runs in a live kernel).
LIVE_NOTE = ("🎛 Интерактивная панель работает после того, как её ячейка выполнена в текущем ядре. "
             "Если ниже пусто или написано «model not found» (урок только открыт, ядро перезапущено), "
             "выполните эту ячейку ещё раз.")


def table_html(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table with escaped cells, for an ``ipywidgets.HTML`` value."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table class='course-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def message_html(text: str, ok: bool | None = None) -> str:
    """A one-line status message, green / red / neutral."""
    color = {True: "#1a7f37", False: "#cf222e", None: "#57606a"}[ok]
    return f"<div style='color:{color};font-family:monospace;white-space:pre-wrap'>{html.escape(text)}</div>"


def figure_png(fig: Figure) -> bytes:
    """Render a matplotlib Figure to PNG bytes (for ``ipywidgets.Image``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def _show_when_filled(image: widgets.Image) -> None:
    """Hide an empty Image (a browser draws an empty PNG as a broken-image icon) until it has a picture."""
    image.layout.display = None if image.value else "none"
    image.observe(lambda change: setattr(image.layout, "display", None if change["new"] else "none"), names="value")


def panel(box: widgets.Box) -> widgets.Box:
    """Finish a lesson panel: labels never cut off, no broken-image icon, a note on when it works.

    Descriptions get the width of their text (the default 80 px cut «temperature» to «temperat…»),
    buttons grow to their label («Очистить график»), empty images stay hidden. The note is
    displayed as a separate output (outside IPython it is a no-op), the box is returned unchanged
    otherwise so the lesson's last line shows it.
    """
    stack: list[widgets.Widget] = [box]
    while stack:
        widget = stack.pop()
        stack.extend(getattr(widget, "children", ()))
        if isinstance(widget, widgets.Button):
            widget.layout.width = "auto"
            widget.layout.min_width = "120px"
        elif isinstance(widget, widgets.Image):
            _show_when_filled(widget)
        elif getattr(widget, "description", "") and hasattr(widget.style, "description_width") \
                and not widget.style.description_width:
            widget.style.description_width = "initial"
    display(HTML(f"<div style='color:#57606a;font-size:90%'>{html.escape(LIVE_NOTE)}</div>"))
    return box
