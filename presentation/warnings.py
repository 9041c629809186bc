"""An uploaded course's warnings, worded: the analysis returns a code and figures, the reader gets a sentence."""

from __future__ import annotations

from .words import Words


def _share(w: Words, share: float) -> str:
    return f"{w.number(100 * share, 1)}\u00a0%"


def warning_text(warning: dict, w: Words) -> str:
    """The sentence of one warning (``off_graph``, ``segments``, ``outside_area``, ``no_elevation``,
    ``name_truncated``) in ``w``'s language: "2,1 km hors de tout chemin connu entre le km 12,0 et le km 14,1"."""
    code = warning["code"]
    if code == "off_graph":
        values = {"length": w.distance(warning["length_m"]), "start": w.mark(warning["from_km"]),
                  "end": w.mark(warning["to_km"])}
    elif code == "segments":
        values = {"segments": warning["segments"], "gaps": warning["gaps"], "total": w.distance(warning["gaps_m"]),
                  "largest": w.distance(warning["largest_m"]), "at": w.mark(warning["largest_at_km"])}
    elif code in ("outside_area", "no_elevation"):
        values = {"share": _share(w, warning["share"])}
    else:
        values = {"field": warning["field"], "name": warning["name"], "device": warning["device_name"]}
    return w.pick("warnings", code).format(**values)


def worded_warnings(warnings: list[dict], w: Words) -> list[dict]:
    """Each warning with its ``text`` in ``w``'s language."""
    return [{**x, "text": warning_text(x, w)} for x in warnings]
