"""Small shared pieces of the lesson panels: HTML tables and figures as PNG bytes."""

from __future__ import annotations

import html
import io
from typing import Any, Sequence

from matplotlib.figure import Figure  # drawn without pyplot: inline plots in the kernel stay untouched


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
