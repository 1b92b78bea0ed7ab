"""Interactive explorers: each wraps a pure render(params) -> Figure (see `widgets.base`)."""

from coursekit.widgets.base import Explorer, new_figure

__all__ = ["Explorer", "new_figure"]
