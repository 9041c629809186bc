"""The elevation profile as a picture (PNG or SVG), with the summits and stops at their km, drawn by matplotlib."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .basemap import ROUTE_COLOUR  # noqa: E402
from .words import Words  # noqa: E402

FORMATS = ("png", "svg")


@dataclass(frozen=True)
class ProfileMark:
    """A point named on the profile: a summit (drawn at its height) or a stop, a checkpoint, a night."""

    km: float
    label: str
    kind: str = "stop"  # summit, stop
    height_m: float | None = None


def _marks(ax, marks: Sequence[ProfileMark], km: np.ndarray, ele: np.ndarray, top: float, scale: float) -> None:
    for m in marks:
        z = m.height_m if m.height_m is not None else float(np.interp(m.km, km, ele))
        if m.kind == "summit":
            ax.plot([m.km], [z], marker="^", color="#6b4a2b", markersize=4.5 * scale, zorder=4, linestyle="none")
            ax.text(m.km, z + top * 0.03, m.label, fontsize=5 * scale, ha="center", va="bottom", color="#6b4a2b")
        else:
            ax.axvline(m.km, color="#2b5fad", linewidth=0.6 * scale, linestyle=(0, (2, 2)), zorder=2)
            ax.text(m.km, top * 0.98, m.label, fontsize=5 * scale, ha="left", va="top", color="#2b5fad",
                    rotation=90)


def render_profile(profile: Sequence[Sequence[float]], w: Words, *, marks: Sequence[ProfileMark] = (),
                   width_px: int = 1600, height_px: int = 480, dpi: int = 200, fmt: str = "png") -> bytes:
    """The elevation profile ([distance_m, elevation_m] samples) as PNG or SVG bytes, axes in ``w``'s language."""
    if fmt not in FORMATS:
        raise ValueError(f"a profile picture is one of {', '.join(FORMATS)}")
    data = np.asarray(profile, dtype=float).reshape(-1, 2)
    km, ele = data[:, 0] / 1000, data[:, 1]
    scale = dpi / 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_axes((0.08, 0.22, 0.9, 0.74))
    low, high = (float(ele.min()), float(ele.max())) if len(ele) else (0.0, 1.0)
    base = max(0.0, low - 10)
    top = high + max(15.0, (high - base) * 0.25)
    ax.fill_between(km, base, ele, color="#f3c7dd", linewidth=0)
    ax.plot(km, ele, color=ROUTE_COLOUR, linewidth=1.1 * scale)
    ax.set_xlim(0, float(km[-1]) if len(km) else 1.0)
    ax.set_ylim(base, top)
    _marks(ax, marks, km, ele, top, scale)
    ax.set_xlabel(w.table["sheet"]["distance_axis"], fontsize=6 * scale)
    ax.set_ylabel(w.table["sheet"]["elevation_axis"], fontsize=6 * scale)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: w.number(v, 0 if v == int(v) else 1)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: w.number(v)))
    ax.tick_params(labelsize=5.5 * scale, width=0.5 * scale, length=2 * scale)
    ax.grid(color="#dddddd", linewidth=0.4 * scale)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=dpi, metadata={"Software": None} if fmt == "png" else {"Date": None})
    return out.getvalue()
