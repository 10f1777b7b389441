"""What a reader sees in a latency figure: the check of lesson 07's figure exercise.

The checker never reads the learner's drawing code. It hands the learner's function data whose
groups it knows (cached and uncached latencies, in milliseconds), then reads the returned
matplotlib ``Figure``: the coordinates every artist drew (markers, lines, box plots, violins,
histogram bins, bars), the scales and view limits of the axes, the axis labels, legends, tick
labels and texts. :func:`inspect_latency_figure` raises :class:`FigureProblem` with a Russian
message naming what a reader of the figure would miss: a group, a scale on which both groups
are readable (a ×100 ratio), the unit of the latency axis, which points are which, the spread
of the measurements (not only a mean), how many measurements each group has.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text


class FigureProblem(Exception):
    """The figure misses something a reader needs; the message (Russian) says what."""


@dataclass(frozen=True)
class Transform:
    """How milliseconds may have been drawn: as they are, in seconds, or as their logarithm."""

    name: str
    unit: str  # "ms" or "s"
    log: bool
    forward: Callable[[float], float]
    tolerance: float  # absolute for logarithms, relative otherwise


TRANSFORMS = (
    Transform("мс", "ms", False, lambda v: v, 0.03),
    Transform("с", "s", False, lambda v: v / 1000, 0.03),
    Transform("log10(мс)", "ms", True, math.log10, 0.013),
    Transform("log10(с)", "s", True, lambda v: math.log10(v / 1000), 0.013),
    Transform("ln(мс)", "ms", True, math.log, 0.03),
)

MILLISECONDS = re.compile(r"(?<![a-zа-яё])(мс|ms|msec|миллисекунд\w*|milliseconds?)(?![a-zа-яё])", re.I)
SECONDS = re.compile(r"((,|\(|\[|/|\bв)\s*(с|s|сек\.?)\s*(\)|\]|,|$))|секунд|\bseconds?\b|\bsec\b", re.I)
LOGARITHM = re.compile(r"log|лог|ln", re.I)
UNCACHED_WORDS = re.compile(r"без\s+к[эе]ш|uncached|no[-_ ]?cache|к\s+модел|от\s+модел|модел|промах|\bmiss", re.I)
CACHED_WORDS = re.compile(r"к[эе]ш|cached|\bcache\b|попадан|\bhits?\b", re.I)
LOG_SCALES = ("log", "symlog")


@dataclass
class Drawn:
    """Coordinates drawn along one dimension of one Axes: points, and histogram bins."""

    points: np.ndarray
    bins: list[tuple[float, float]]

    def covers(self, target: float, t: Transform) -> bool:
        tolerance = t.tolerance if t.log else t.tolerance * abs(target) + 1e-12
        if self.points.size and np.any(np.abs(self.points - target) <= tolerance):
            return True
        return any(low - tolerance <= target <= high + tolerance for low, high in self.bins)

    def touches(self, low: float, high: float, t: Transform) -> bool:
        """Anything drawn between ``low`` and ``high`` (transformed values)."""
        pad = t.tolerance if t.log else t.tolerance * max(abs(low), abs(high))
        inside = self.points[(self.points >= low - pad) & (self.points <= high + pad)] if self.points.size else []
        return len(inside) > 0 or any(b_low <= high + pad and b_high >= low - pad for b_low, b_high in self.bins)


def _num(value: float) -> str:
    """A number for a Russian message: 4 significant digits, decimal comma."""
    return f"{value:.4g}".replace(".", ",")


def _numbers(values: object) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([])
    return array[np.isfinite(array)]


def drawn(ax: Axes, dim: int) -> Drawn:
    """Every data coordinate drawn on ``ax`` along ``dim`` (0: x, 1: y)."""
    points: list[np.ndarray] = []
    for line in ax.get_lines():  # plot, box plot parts, fliers, error bar caps
        xy = np.asarray(line.get_xydata())
        if xy.ndim == 2 and xy.shape[1] == 2:
            points.append(_numbers(xy[:, dim]))
    for collection in ax.collections:
        if isinstance(collection, PathCollection):  # scatter: the markers sit at the offsets
            offsets = np.asarray(collection.get_offsets())
            if offsets.ndim == 2 and len(offsets):
                points.append(_numbers(offsets[:, dim]))
        elif collection.get_transform().contains_branch(ax.transData):  # violins, hlines, error bars, fills
            for path in collection.get_paths():
                points.append(_numbers(path.vertices[:, dim]))
    rectangles = []
    for patch in ax.patches:
        if isinstance(patch, Rectangle):
            x, y, w, h = patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()
            along, across = ((x, x + w), h) if dim == 0 else ((y, y + h), w)
            if across:
                rectangles.append((min(along), max(along)))
        elif patch.get_transform().contains_branch(ax.transData):  # box plot boxes (patch_artist), polygons
            path = patch.get_path().transformed(patch.get_patch_transform())
            points.append(_numbers(path.vertices[:, dim]))
    for low, high in rectangles:
        points.append(_numbers([low, high]))
    ordered = sorted(rectangles)
    adjacent = sum(1 for (_, high), (low, _) in zip(ordered, ordered[1:]) if math.isclose(high, low, rel_tol=1e-9,
                                                                                          abs_tol=1e-12))
    bins = ordered if adjacent >= 2 else []  # a histogram along this dimension: bins tile it
    return Drawn(np.concatenate(points) if points else np.array([]), bins)


@dataclass
class Placement:
    """Where a group was found: the Axes, the dimension and how its values were transformed."""

    ax: Axes
    dim: int
    t: Transform


def _label(ax: Axes, dim: int) -> str:
    """The label of an axis: its own, a shared sibling's, or the figure's common one."""
    axis = ax.xaxis if dim == 0 else ax.yaxis
    if axis.get_label().get_text().strip():
        return axis.get_label().get_text()
    shared = (ax.get_shared_x_axes() if dim == 0 else ax.get_shared_y_axes()).get_siblings(ax)
    for other in shared:
        text = (other.get_xlabel() if dim == 0 else other.get_ylabel()).strip()
        if text:
            return text
    common = getattr(ax.figure, "_supxlabel" if dim == 0 else "_supylabel", None)
    return common.get_text() if common is not None else ""


def _scale(ax: Axes, dim: int) -> str:
    return ax.get_xscale() if dim == 0 else ax.get_yscale()


def _limits(ax: Axes, dim: int) -> tuple[float, float]:
    low, high = ax.get_xlim() if dim == 0 else ax.get_ylim()
    return min(low, high), max(low, high)


def _place(fig: Figure, groups: dict[str, Sequence[float]]) -> dict[str, Placement]:
    """Find each group on the figure: the (Axes, dimension, transform) where both its smallest and
    its largest measurement are drawn. One placement for both groups is preferred."""
    found: list[tuple[Placement, set[str]]] = []
    for ax in fig.axes:
        for dim in (0, 1):
            d = drawn(ax, dim)
            for t in TRANSFORMS:
                shown = {name for name, values in groups.items()
                         if d.covers(t.forward(min(values)), t) and d.covers(t.forward(max(values)), t)}
                if shown:
                    found.append((Placement(ax, dim, t), shown))
    both = [placement for placement, shown in found if len(shown) == len(groups)]
    if both:
        best = min(both, key=lambda p: (p.t.log, TRANSFORMS.index(p.t)))
        return {name: best for name in groups}
    placed: dict[str, Placement] = {}
    for name in groups:
        options = [placement for placement, shown in found if name in shown]
        if options:
            placed[name] = min(options, key=lambda p: (p.t.log, TRANSFORMS.index(p.t)))
    missing = [name for name in groups if name not in placed]
    if missing:
        name = missing[0]
        values = groups[name]
        summary = any(drawn(ax, dim).touches(t.forward(min(values)), t.forward(max(values)), t)
                      for ax in fig.axes for dim in (0, 1) for t in TRANSFORMS)
        if not any(drawn(ax, dim).points.size for ax in fig.axes for dim in (0, 1)):
            raise FigureProblem("на графике ничего не нарисовано: постройте замеры, которые функция получила.")
        if summary:
            raise FigureProblem(f"группа «{name}»: на графике не видно всех её замеров (самый быстрый — "
                                f"{_num(min(values))} мс, самый медленный — {_num(max(values))} мс). Покажите все "
                                "замеры, которые функция получила, — точками (scatter), box plot, violin или "
                                "гистограммой, а не одно среднее или медиану.")
        raise FigureProblem(f"на графике не нашлось группы «{name}»: её замеры ({len(values)} шт., "
                            f"{_num(min(values))}–{_num(max(values))} мс) не нарисованы.")
    return placed


def _check_scale(placed: dict[str, Placement], groups: dict[str, Sequence[float]]) -> None:
    for name, p in placed.items():
        low, high = _limits(p.ax, p.dim)
        values = groups[name]
        if p.t.forward(min(values)) < low - 1e-12 or p.t.forward(max(values)) > high + 1e-12:
            raise FigureProblem(f"часть замеров группы «{name}» за пределами оси: её пределы {_num(low)}…{_num(high)}. "
                                "Уберите ручные set_ylim / set_xlim или расширьте их.")
    fast = min(groups, key=lambda name: max(groups[name]))
    slow = max(groups, key=lambda name: max(groups[name]))
    p = placed[fast]
    if p.t.log or _scale(p.ax, p.dim) in LOG_SCALES:
        return
    same_axis = placed[slow].ax is p.ax and placed[slow].dim == p.dim
    if not same_axis and _limits(p.ax, p.dim)[1] <= 50 * p.t.forward(max(groups[fast])):
        return  # the fast group has an axis of its own, scaled to it
    low, high = _limits(p.ax, p.dim)
    raise FigureProblem(f"шкала линейная: ось идёт до {_num(high)}, и замеры «{fast}» (около "
                        f"{_num(p.t.forward(float(np.median(groups[fast]))))}) сливаются с нулём — разницу в сотни раз "
                        "на ней не прочитать. Включите логарифмическую шкалу: ax.set_yscale('log') (или "
                        "ax.set_xscale('log') для горизонтальной оси).")


def _check_units(placed: dict[str, Placement]) -> None:
    for p in {id(p): p for p in placed.values()}.values():
        label = _label(p.ax, p.dim)
        if not label.strip():
            raise FigureProblem("у оси с задержкой нет подписи: читатель не узнает, что на ней и в чём. Подпишите "
                                "её с единицами — например ax.set_ylabel('время ответа, мс').")
        has_ms, has_s = bool(MILLISECONDS.search(label)), bool(SECONDS.search(label))
        unit = "мс" if p.t.unit == "ms" else "с"
        if (p.t.unit == "ms" and not has_ms) or (p.t.unit == "s" and not has_s):
            if has_ms or has_s:
                raise FigureProblem(f"на оси — {'миллисекунды' if p.t.unit == 'ms' else 'секунды'}, а в подписи "
                                    f"«{label}» — {'секунды' if has_s else 'миллисекунды'}: единицы не сходятся.")
            raise FigureProblem(f"в подписи оси «{label}» нет единиц измерения: напишите, в чём время, — например "
                                f"«время ответа, {unit}».")
        if p.t.log and not LOGARITHM.search(label):
            raise FigureProblem(f"на оси — логарифм задержки, а подпись «{label}» читается как сама задержка: "
                                f"напишите «log10(время, {unit})» или рисуйте сами {unit} с ax.set_yscale('log').")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _group_texts(fig: Figure, placed: dict[str, Placement]) -> list[str]:
    """Texts that can tell the groups apart: legends, category tick labels, annotations (titles too,
    when each group has an axis of its own)."""
    texts = []
    for legend in [ax.get_legend() for ax in fig.axes] + list(fig.legends):
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
    own_axes = len({id(p.ax) for p in placed.values()}) > 1
    for p in placed.values():
        ticks = p.ax.get_xticklabels() if p.dim == 1 else p.ax.get_yticklabels()
        texts += [t.get_text() for t in ticks] + [t.get_text() for t in p.ax.texts]
        if own_axes:
            texts.append(p.ax.get_title())
    return [t for t in texts if t.strip()]


def _check_labels(fig: Figure, placed: dict[str, Placement]) -> None:
    texts = _group_texts(fig, placed)
    uncached = any(UNCACHED_WORDS.search(t) for t in texts)
    cached = any(CACHED_WORDS.search(UNCACHED_WORDS.sub("", t)) for t in texts)
    if not (uncached and cached):
        raise FigureProblem("не видно, где какая группа: подпишите их — легендой (label=... и ax.legend()) или "
                            "подписями на оси — «без кэша» и «из кэша».")


def _check_counts(fig: Figure, groups: dict[str, Sequence[float]]) -> None:
    texts = " | ".join(_texts(fig))
    for name, values in groups.items():
        n = len(values)
        if not re.search(rf"(?<![\d.,]){n}(?![\d]|[.,]\d)", texts):
            raise FigureProblem(f"не видно, сколько замеров в группе «{name}» (их {n}): добавьте n в легенду или "
                                f"подпись, например f'{name} (n={{len(values)}})'. По трём точкам и по сотне "
                                "выводы разные.")


def inspect_latency_figure(fig: object, groups: dict[str, Sequence[float]]) -> None:
    """Raise :class:`FigureProblem` naming what the figure misses; ``groups`` are the milliseconds of
    each group the learner's function was given (at least two groups)."""
    if isinstance(fig, Axes):
        raise FigureProblem("функция вернула Axes, а нужна Figure: fig, ax = plt.subplots(); ...; return fig.")
    if not isinstance(fig, Figure):
        raise FigureProblem(f"функция должна вернуть matplotlib Figure (fig из plt.subplots()), а вернула "
                            f"{type(fig).__name__}.")
    if not fig.axes:
        raise FigureProblem("в Figure нет ни одной оси: рисуйте на ax из fig, ax = plt.subplots().")
    fig.savefig(io.BytesIO(), format="png", dpi=40)  # renders it: tick labels and limits are final now
    placed = _place(fig, groups)
    _check_scale(placed, groups)
    _check_units(placed)
    _check_labels(fig, placed)
    _check_counts(fig, groups)


__all__ = ["FigureProblem", "inspect_latency_figure", "drawn", "TRANSFORMS"]
