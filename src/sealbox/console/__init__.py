"""The web console: static files (HTML, JavaScript, CSS, images) in ``static/`` that
``sealbox serve`` serves at ``/console/``. They are built before release and shipped in the
package; nothing is fetched at install or run time. The browser signs its KMS calls itself,
with the operator's own access key, so the console adds no way into the service.

This package holds data only and imports nothing of Sealbox.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable


def static_root() -> Traversable:
    """The directory of the console's files, wherever the package is installed."""
    return resources.files(__name__) / "static"
