"""Locate the embedded data folder, installed (wheel) or in a source tree (editable install)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ._errors import InputError

__all__ = ["data_dir", "data_path"]


def data_dir() -> Path:
    """The folder that holds routerisk's embedded data files.

    A wheel carries the repository's top-level ``data/`` folder as ``routerisk/data``; an editable install
    reads it from the source tree.

    Examples
    --------
    >>> (data_dir() / "corridors.csv").is_file()
    True
    """
    packaged = files("routerisk") / "data"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "data"


def data_path(name: str) -> Path:
    """Path of one embedded data file, e.g. ``data_path("corridors.csv")``.

    Raises
    ------
    InputError
        If the file is not there (a broken install).

    Examples
    --------
    >>> data_path("localities.csv").name
    'localities.csv'
    """
    path = data_dir() / name
    if not path.exists():
        msg = f"embedded data file {name!r} not found in {str(path.parent)!r}; reinstall routerisk"
        raise InputError(msg, path=str(path))
    return path
