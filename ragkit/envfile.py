"""Reading a ``.env`` file into the environment, as the ``flask`` command does.

The commands (``ragkit``, ``python -m workers``, ``python -m webapp.serve``) call
:func:`load_env_file` before they read their settings; the library itself never does, so a
program that imports ragkit keeps control of its own environment.
"""

from __future__ import annotations

from pathlib import Path

import dotenv


def load_env_file(name: str = ".env") -> Path | None:
    """Set the variables of ``.env`` in the working directory (or its nearest parent with one).

    A variable already set in the environment, even to an empty value, keeps its value.

    Returns:
        The file read, or None when there is none.
    """
    found = dotenv.find_dotenv(name, usecwd=True)
    if not found:
        return None
    dotenv.load_dotenv(found, override=False, encoding="utf-8")
    return Path(found)
