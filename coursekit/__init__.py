"""coursekit: the package behind the course's notebooks.

The top level is deliberately small; plots, widgets, landscapes and the exercise
bank are imported as submodules (``from coursekit import plots``).
"""

from coursekit import explain  # a callable module: explain(err), explain.install()
from coursekit.device import device, seed
from coursekit.grading.check import check, hint, private_exercises, solution
from coursekit.i18n import set_language

__version__ = "0.1.0"

__all__ = ["__version__", "check", "device", "explain", "hint", "private_exercises", "seed", "set_language",
           "solution"]
