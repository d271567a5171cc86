"""Files Emily needs at run time, shipped inside the package and found with ``importlib.resources``.

Why inside the package: a wheel (or the Docker runtime image, which installs one) has no source
tree beside it, so nothing may be looked up relative to a checkout. Everything read at run time
lives here, in one folder per concern:

* ``migrations/``: the store migrations ``emily migrate`` applies (``NNN_name.py``).
* ``feature_store/``: the Feast templates (``feature_store.{sqlite,redis}.yaml``,
  ``definitions.py``) and ``runner.py``, which the isolated Feast environment runs (ADR 0010).
* ``model_cards/``: the card schema (generated from ``ModelCardSpec``) and a template card that
  ``emily init`` copies into a new home.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from emily.core import ConfigError


def data_path(*parts: str) -> Path:
    """A file or folder of the package data, as a real path on disk.

    Emily is installed as files (a wheel unpacked into ``site-packages``, or an editable
    checkout), never run from a zip, so the resource is already a file: migrations are imported
    from it and the Feast environment runs ``runner.py`` from it, both of which need a path.

    Raises:
        ConfigError: the resource is missing, i.e. the installation is broken or zipped.
    """
    resource = files(__name__).joinpath(*parts)
    path = Path(str(resource))
    if not path.exists():
        where = "/".join(parts)
        raise ConfigError(
            f"package data {where!r} is missing from {Path(str(files(__name__)))}; expected "
            "an unzipped install of emily-sovereign: reinstall it (pip install --force-reinstall)"
        )
    return path
