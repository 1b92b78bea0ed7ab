"""Plot helpers shared by every notebook: each draws on a given Axes and returns it."""

from coursekit.plots.activations import (
    activation_gallery,
    decision_regions,
    gradient_norms_by_layer,
    grouped_bars,
    layer_histograms,
)
from coursekit.plots.losses import fitted_lines, point_gradients, residual_curves, step_curves
from coursekit.plots.mlp import decision_boundary, layer_stats, training_curves
from coursekit.plots.optimisation import (
    contour,
    critical_points,
    function_and_derivative,
    gradient_field,
    grid,
    loss_curves,
    surface,
    trajectories,
)
from coursekit.plots.report import case_map, exercise_outcomes, score_histogram
from coursekit.plots.softmax import jacobian_heatmap, probability_bars
from coursekit.plots.style import PALETTE, color, figure, finish, style_axes
from coursekit.plots.surfaces import eigenvalue_spectrum, index_vs_loss, slice_contours, slice_lines

__all__ = ["PALETTE", "color", "figure", "finish", "style_axes"]
__all__ += ["activation_gallery", "decision_regions", "gradient_norms_by_layer", "grouped_bars", "layer_histograms"]
__all__ += ["fitted_lines", "point_gradients", "residual_curves", "step_curves"]
__all__ += ["contour", "critical_points", "function_and_derivative", "gradient_field", "grid", "loss_curves",
            "surface", "trajectories"]
__all__ += ["jacobian_heatmap", "probability_bars"]
__all__ += ["decision_boundary", "layer_stats", "training_curves"]
__all__ += ["eigenvalue_spectrum", "index_vs_loss", "slice_contours", "slice_lines"]
__all__ += ["case_map", "exercise_outcomes", "score_histogram"]
