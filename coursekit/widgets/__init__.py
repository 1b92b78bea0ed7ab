"""Interactive explorers: each wraps a pure render(params) -> Figure (see `widgets.base`)."""

from coursekit.widgets.activations import ActivationExplorer, render_activation_explorer
from coursekit.widgets.base import Explorer, new_figure
from coursekit.widgets.init_depth import InitDepthExplorer, render_init_depth
from coursekit.widgets.optimisation import (
    GradientDescentExplorer,
    MomentumExplorer,
    render_gradient_descent,
    render_momentum,
)
from coursekit.widgets.phase import PhaseDiagramExplorer, render_phase_diagram
from coursekit.widgets.softmax import TemperatureExplorer, render_temperature_explorer

__all__ = ["Explorer", "new_figure"]
__all__ += ["ActivationExplorer", "render_activation_explorer"]
__all__ += ["GradientDescentExplorer", "MomentumExplorer", "PhaseDiagramExplorer", "render_gradient_descent",
            "render_momentum", "render_phase_diagram"]
__all__ += ["TemperatureExplorer", "render_temperature_explorer"]
__all__ += ["InitDepthExplorer", "render_init_depth"]
