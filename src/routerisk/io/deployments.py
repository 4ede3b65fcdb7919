"""State-month deployment tables (e.g. National Guard personnel per state and month) as time-varying zones."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .._errors import InputError
from .._validate import ValidationReport
from ..datasets import load_states
from ..schema import WGS84, ZONE_COLUMNS
from ._dates import MONTHS
from ._fields import parse_number
from ._incidents import as_str, no_rows_error
from ._tables import find_column, norm_name, norm_text, read_text_table, text_col

__all__ = ["read_deployments"]

DEPLOYMENT_COLUMNS = (*ZONE_COLUMNS, "state_code", "migrants_detained")


def read_deployments(
    path: str | os.PathLike[str],
    *,
    states: gpd.GeoDataFrame | None = None,
    report: ValidationReport | None = None,
) -> gpd.GeoDataFrame:
    """Read a state-month deployment table into zones: one per state and month, shaped as the state.

    The table has one row per state and month: ``ano`` (year), ``mes`` (Spanish or English three-letter month,
    or 1-12), ``cve_entidad`` (INEGI two-digit state code; ``entidad``, the snake-case state name, is used
    when the code is blank), ``despliegue`` (personnel deployed) and optionally ``migrantes_detenidos``.
    English names (``year``, ``month``, ``state_code``, ``state``, ``personnel``, ``migrants_detained``) work
    too. The code is kept as a two-character string (``"07"``), however the file wrote it.

    Parameters
    ----------
    path : str or path-like
        The CSV, e.g. ``guardia_nacional_deployment_by_state_month.csv``.
    states : geopandas.GeoDataFrame, optional
        State polygons with ``state_code`` (and ``state_name``; ``state_key`` is used to match names); defaults
        to :func:`routerisk.datasets.load_states`.
    report : ValidationReport, optional
        Receives rejected rows (unknown state, impossible month, missing or negative count, duplicate
        state-month) and the counts.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`routerisk.schema.ZONE_COLUMNS` plus ``state_code`` and ``migrants_detained`` (float, NaN when
        blank), in EPSG:4326: ``agency`` ``"guardia_nacional"``, ``kind`` ``"deployment"``, ``start_date`` the
        first day of the month, ``end_date`` the last day (inclusive), ``intensity`` the personnel deployed,
        ``illustrative`` False.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> states = gpd.GeoDataFrame({"state_code": ["07"], "state_name": ["Chiapas"]},
    ...                           geometry=[box(-94, 14.5, -90.4, 18)], crs="EPSG:4326")
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("ano,mes,entidad,cve_entidad,despliegue\\n2019,jul,chiapas,07,2500\\n")
    >>> z = read_deployments(p, states=states)
    >>> z.loc[0, "zone_id"], float(z.loc[0, "intensity"]), str(z.loc[0, "end_date"].date())
    ('gn-07-2019-07', 2500.0, '2019-07-31')
    """
    own = report is None
    rep = ValidationReport() if own else report
    file = str(path)
    states = _check_states(states)
    df, rows = read_text_table(Path(path), rep, file)
    col = lambda *aliases: find_column(df.columns, aliases)  # noqa: E731
    year_c, month_c = col("ano", "anio", "year", "a_o"), col("mes", "month")
    code_c, name_c = col("cve_entidad", "cve_ent", "state_code", "clave_entidad"), col("entidad", "state", "estado")
    dep_c = col("despliegue", "personnel", "deployment", "intensity", "elementos")
    det_c = col("migrantes_detenidos", "migrants_detained", "detenidos")
    missing = [name for name, c in (("ano", year_c), ("mes", month_c), ("despliegue", dep_c)) if c is None]
    if code_c is None and name_c is None:
        missing.append("cve_entidad")
    if missing:
        msg = f"{file!r} is not a state-month deployment table: missing column(s) {', '.join(missing)}"
        raise InputError(msg, path=file)
    n = len(df)
    year, _ = parse_number(rows, df[year_c], year_c, decimal_comma=False)
    today = date.today()
    with np.errstate(invalid="ignore"):
        rows.reject(~((year >= 1990) & (year <= today.year) & (year == np.floor(year))), year_c,
                    f"year must be a whole number between 1990 and {today.year}", text_col(df, year_c))  # fmt: skip
    mtext = norm_text(text_col(df, month_c))
    month = mtext.str[:3].map(MONTHS)
    numeric = pd.to_numeric(mtext.where(mtext.str.fullmatch(r"\d{1,2}"), None), errors="coerce")
    month = month.fillna(numeric).to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        rows.reject(~((month >= 1) & (month <= 12)), month_c, "not a month (ene..dic, jan..dec or 1..12)",
                    text_col(df, month_c))  # fmt: skip
    # state: by code, else by name
    code = text_col(df, code_c).str.replace(r"\.0$", "", regex=True)
    code = code.where(~code.str.fullmatch(r"\d{1,2}"), code.str.zfill(2)).to_numpy(dtype=object)
    if name_c is not None and "state_key" in states:
        by_key = dict(zip(states["state_key"], states["state_code"], strict=True))
        from_name = text_col(df, name_c).map(lambda v: by_key.get(norm_name(v), "")).to_numpy(dtype=object)
        code = np.where(code == "", from_name, code)
    known = pd.Series(code).isin(states["state_code"]).to_numpy()
    rows.reject(~known, code_c or name_c, "state not found in the states layer (INEGI code 01-32)", code)
    intensity, dep_missing = parse_number(rows, df[dep_c], dep_c)
    rows.reject(dep_missing, dep_c, "deployment count missing")
    with np.errstate(invalid="ignore"):
        rows.reject((intensity < 0) | np.isinf(intensity), dep_c, "deployment count must be >= 0", intensity)
    detained = parse_number(rows, df[det_c], det_c)[0] if det_c is not None else np.full(n, np.nan)
    # one row per state and month: later duplicates rejected
    key = pd.Series(code).astype(str) + "-" + pd.Series(np.nan_to_num(year)).astype("int64").astype(str) + "-" + \
        pd.Series(np.nan_to_num(month)).astype("int64").astype(str).str.zfill(2)
    dup = key.duplicated(keep="first").to_numpy() & ~rows.bad
    rows.reject(dup, code_c or name_c, "duplicate state and month (an earlier row has the same)", key)
    keep = rows.finish()
    rep.count(file, read=n + rows.n_skipped, kept=int(keep.sum()))
    if not keep.any():
        raise no_rows_error(rows, file)
    out = _zones(states, year[keep], month[keep], code[keep], intensity[keep], detained[keep])
    if own:
        rep.warn_if_rejected(file)
    return out


def _zones(
    states: gpd.GeoDataFrame, year: np.ndarray, month: np.ndarray, code: np.ndarray, intensity: np.ndarray,
    detained: np.ndarray,
) -> gpd.GeoDataFrame:
    """The zones of the kept rows: one per state and month, shaped as the state."""
    y, m, c = year.astype("int64"), month.astype("int64"), code
    start = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": 1})).astype("datetime64[ns]")
    end = (start + pd.offsets.MonthEnd(0)).astype("datetime64[ns]")
    st = states.set_index("state_code")
    geoms = st.geometry.loc[c].values
    names = st["state_name"].loc[c].to_numpy(dtype=object) if "state_name" in st else c
    stamp = pd.Series(y).astype(str) + "-" + pd.Series(m).astype(str).str.zfill(2)
    data = {
        "zone_id": ("gn-" + pd.Series(c, dtype=object) + "-" + stamp).to_numpy(dtype=object),
        "name": (pd.Series(names, dtype=object) + " " + stamp).to_numpy(dtype=object),
        "agency": np.full(len(c), "guardia_nacional", dtype=object),
        "kind": np.full(len(c), "deployment", dtype=object),
        "start_date": start.to_numpy(),
        "end_date": end.to_numpy(),
        "intensity": intensity.astype("float64"),
        "illustrative": np.zeros(len(c), dtype=bool),
        "state_code": np.asarray(c, dtype=object),
        "migrants_detained": detained.astype("float64"),
    }
    for c in ("zone_id", "name", "agency", "kind", "state_code"):
        data[c] = as_str(data[c])
    return gpd.GeoDataFrame(pd.DataFrame(data, columns=DEPLOYMENT_COLUMNS), geometry=geoms, crs=WGS84)


def _check_states(states: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if states is None:
        states = load_states()
    if not isinstance(states, gpd.GeoDataFrame) or "state_code" not in states:
        msg = "`states` must be a GeoDataFrame with a `state_code` column (INEGI two-digit codes) and polygons"
        raise InputError(msg)
    if states.crs is None:
        msg = "`states` has no CRS; set one (e.g. `.set_crs('EPSG:4326')`)"
        raise InputError(msg)
    out = states.to_crs(WGS84) if states.crs.to_epsg() != 4326 else states.copy()
    out["state_code"] = out["state_code"].astype(str).str.zfill(2)
    if out["state_code"].duplicated().any():
        msg = "`states` has duplicate `state_code` values"
        raise InputError(msg)
    return out
