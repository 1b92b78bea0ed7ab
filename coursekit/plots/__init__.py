"""Plot helpers shared by every notebook: each draws on a given Axes and returns it."""

from coursekit.plots.style import PALETTE, color, figure, finish, style_axes

__all__ = ["PALETTE", "color", "figure", "finish", "style_axes"]
