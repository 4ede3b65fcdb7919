"""State-month count tables (e.g. people presented to the migration authority) and their relation to deployment.

- :func:`read_state_counts` reads a table with ``ano`` / ``mes`` / ``cve_entidad`` (or ``entidad``) and one count
  column (e.g. INM ``presentados``), rejecting malformed rows with (file, row, column, value, reason);
- :func:`counts_change`: the rate ratio after / before per state (:func:`routerisk.change.rate_ratio`, window
  lengths in days of the months covered);
- :func:`deployment_did`: difference-in-differences between the more and the less deployed states around a date
  (Poisson GLM with state and month effects, standard errors clustered by state);
- :func:`deployment_association`: the lagged association of personnel with the counts (Poisson GLM with state and
  month effects and ``log2(1 + personnel)`` lagged 0..k months, clustered standard errors).

**Caveats** (written next to every number these functions return): the data are ecological (states and months,
not people); official counts reflect enforcement activity as much as migration; the states were not assigned to
deployment at random, so no estimate here is a causal effect without a design that supports it; counts are
over-dispersed, so only the cluster-robust intervals of the GLMs are honest, and the exact Poisson intervals of
:func:`counts_change` are too narrow for such counts.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import InputError
from .change import DEFAULT_LEVEL, _bh, check_windows, rate_ratio

__all__ = [
    "CAVEAT", "counts_change", "deployment_association", "deployment_did", "deployment_table", "read_state_counts",
]

#: The caveat written next to every estimate of deployment and counts.
CAVEAT = (
    "Ecological state-month data; counts reflect enforcement as well as migration; deployment was not assigned at "
    "random: an association, not a causal effect."
)
_MONTHS = {"ene": 1, "jan": 1, "feb": 2, "mar": 3, "abr": 4, "apr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8,
           "aug": 8, "sep": 9, "set": 9, "oct": 10, "nov": 11, "dic": 12, "dec": 12}  # fmt: skip
_COLS = {"year": ("ano", "anio", "year"), "month": ("mes", "month"), "code": ("cve_entidad", "state_code"),
         "name": ("entidad", "state")}  # fmt: skip


def _find(columns, aliases) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    return next((low[a] for a in aliases if a in low), None)


def _month_number(text: pd.Series) -> pd.Series:
    t = text.str.strip().str.lower()
    num = pd.to_numeric(t.where(t.str.fullmatch(r"\d{1,2}", na=False)), errors="coerce")
    return t.str[:3].map(_MONTHS).astype("float64").fillna(num)


def read_state_counts(path: str | os.PathLike[str], value: str | None = None) -> pd.DataFrame:
    """Read a state-month count table: one row per state and month.

    Parameters
    ----------
    path : path
        CSV with ``ano`` (year), ``mes`` (ene..dic, jan..dec or 1..12), ``cve_entidad`` (INEGI code; ``entidad``,
        the snake-case state name, when the code is blank) and the count column.
    value : str, optional
        The count column; default: the only column besides those four (``presentados``, ``despliegue``, ...).

    Returns
    -------
    pandas.DataFrame
        ``state_code``, ``state_name``, ``month`` (first day), ``value``; ``attrs["rejected"]`` lists rejected
        rows as dicts (``file``, ``row``, ``column``, ``value``, ``reason``; row 2 is the first record).

    Raises
    ------
    routerisk.InputError
        Unreadable file, missing columns, or no usable row.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = p.write_text("ano,mes,entidad,cve_entidad,presentados\\n2019,ene,chiapas,07,120\\n2019,xx,chiapas,07,1\\n")
    >>> t = read_state_counts(p)
    >>> t[["state_code", "value"]].values.tolist(), [r["reason"] for r in t.attrs["rejected"]]
    ([['07', 120.0]], ['not a month (ene..dic, jan..dec or 1..12)'])
    """
    from .datasets import load_states

    file = str(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{file!r} cannot be read as a CSV table: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        raise InputError(msg, path=file) from None
    c = {k: _find(df.columns, v) for k, v in _COLS.items()}
    known = {x for x in c.values() if x is not None}
    if value is None:
        rest = [x for x in df.columns if x not in known]
        value = rest[0] if len(rest) == 1 else None
    missing = [k for k in ("year", "month") if c[k] is None]
    if (c["code"] is None and c["name"] is None) or value is None or value not in df.columns or missing:
        msg = (f"{file!r} is not a state-month count table: it needs ano, mes, cve_entidad (or entidad) and one "
               "count column (name it with --value when there are several)")  # fmt: skip
        raise InputError(msg, path=file)
    return _validate_counts(df, c, value, file, load_states())


def _validate_counts(df, c, value, file, states) -> pd.DataFrame:
    problems = []

    def reject(mask, column, reason, values):
        for i in np.flatnonzero(mask & ~bad):
            problems.append((file, int(i) + 2, column, str(values.iloc[i])[:80], reason))
        bad[:] |= mask

    bad = np.zeros(len(df), dtype=bool)
    year = pd.to_numeric(df[c["year"]].str.strip(), errors="coerce")
    reject(~year.between(1990, 2100).to_numpy() | (year % 1 != 0).to_numpy(), c["year"], "not a year", df[c["year"]])
    month = _month_number(df[c["month"]])
    reject(~month.between(1, 12).to_numpy(), c["month"], "not a month (ene..dic, jan..dec or 1..12)", df[c["month"]])
    code = df[c["code"]].str.strip().str.replace(r"\.0$", "", regex=True) if c["code"] else pd.Series([""] * len(df))
    code = code.where(~code.str.fullmatch(r"\d{1,2}", na=False), code.str.zfill(2))
    if c["name"] is not None:
        by_key = dict(zip(states["state_key"], states["state_code"], strict=True))
        from_name = df[c["name"]].str.strip().str.lower().str.replace(" ", "_").map(by_key).fillna("")
        code = code.where(code != "", from_name)
    reject(~code.isin(states["state_code"]).to_numpy(), c["code"] or c["name"], "state not found (INEGI 01-32)", code)
    v = pd.to_numeric(df[value].str.strip().str.replace(",", "", regex=False), errors="coerce")
    reject(~(v >= 0).to_numpy() | ~np.isfinite(v.to_numpy(dtype=np.float64, na_value=np.nan)), value,
           "count missing, negative or not a number", df[value])  # fmt: skip
    stamp = code + "-" + year.fillna(0).astype("int64").astype(str) + "-" + month.fillna(0).astype("int64").astype(str)
    reject(stamp.duplicated().to_numpy(), value, "duplicate state and month", stamp)
    keep = ~bad
    if not keep.any():
        msg = f"{file!r}: no usable row ({len(problems)} rejected; first: {problems[0][4] if problems else 'empty'})"
        raise InputError(msg, path=file)
    names = dict(zip(states["state_code"], states["state_name"], strict=True))
    out = pd.DataFrame({
        "state_code": code[keep].astype(str).to_numpy(),
        "state_name": code[keep].map(names).astype(str).to_numpy(),
        "month": pd.to_datetime(pd.DataFrame({"year": year[keep].astype("int64"), "month": month[keep].astype("int64"),
                                              "day": 1})).to_numpy(),
        "value": v[keep].to_numpy(dtype=np.float64),
    })  # fmt: skip
    out.attrs["rejected"] = [dict(zip(("file", "row", "column", "value", "reason"), p, strict=True)) for p in problems]
    return out.sort_values(["state_code", "month"], ignore_index=True)


def _month_window(table: pd.DataFrame, window) -> np.ndarray:
    """Months of the table inside a window (a month counts when its first day lies in the window)."""
    m = pd.to_datetime(table["month"])
    return ((m >= window[0].normalize().replace(day=1)) & (m <= window[1])).to_numpy()


def counts_change(table: pd.DataFrame, before, after, *, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Rate ratio after / before of a state-month count table, per state (every state of the table).

    Window lengths are the days of the table's months inside each window (a state missing months has a
    shorter window). Counts are summed over those months.

    Examples
    --------
    >>> t = pd.DataFrame({"state_code": ["07"] * 4, "state_name": ["Chiapas"] * 4,
    ...                   "month": pd.to_datetime(["2019-01-01", "2019-02-01", "2019-03-01", "2019-04-01"]),
    ...                   "value": [10.0, 10.0, 30.0, 30.0]})
    >>> from routerisk.change import parse_window
    >>> out = counts_change(t, parse_window("2019-01-01:2019-02-28"), parse_window("2019-03-01:2019-04-30"))
    >>> out[["count_before", "count_after"]].values.tolist(), round(float(out["rate_ratio"].iloc[0]), 3)
    ([[20.0, 60.0]], 2.902)
    """
    check_windows(before, after)
    t = table.copy()
    t["days"] = pd.to_datetime(t["month"]).dt.days_in_month
    rows = []
    for code, g in t.groupby("state_code", sort=True):
        b, a = _month_window(g, before), _month_window(g, after)
        rows.append((code, g["state_name"].iloc[0], g["value"][b].sum(), g["value"][a].sum(), g["days"][b].sum(),
                     g["days"][a].sum()))  # fmt: skip
    s = pd.DataFrame(rows, columns=["state_code", "state_name", "count_before", "count_after", "days_before",
                                    "days_after"])  # fmt: skip
    ok = (s["days_before"] > 0) & (s["days_after"] > 0)
    rr = rate_ratio(s["count_after"].round(), s["count_before"].round(), s["days_after"].where(ok, 1),
                    s["days_before"].where(ok, 1), level=level)  # fmt: skip
    rr[~ok.to_numpy()] = np.nan
    out = pd.concat([s, rr], axis=1)
    out["p_adjusted"] = _bh(out["p_value"].to_numpy())
    out["caveat"] = "Exact Poisson interval: too narrow for over-dispersed official counts. " + CAVEAT
    return out


def _panel(counts: pd.DataFrame, deployment: pd.DataFrame) -> pd.DataFrame:
    """Counts joined with personnel per state and month (deployment: ``state_code``, ``month``, ``personnel``)."""
    d = deployment[["state_code", "month", "personnel"]].copy()
    d.attrs = {}
    counts = counts.copy()
    counts.attrs = {}
    return counts.merge(d, on=["state_code", "month"], how="left").sort_values(["state_code", "month"])


def deployment_did(counts, deployment, before, after, *, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Difference-in-differences: the after / before ratio of the more deployed states over the less deployed ones.

    States are "more deployed" when their mean personnel over the *after* window is at least the median over the
    states. Poisson GLM ``count ~ state + month + more:after`` on the months of both windows, standard errors
    clustered by state; ``exp(coef)`` is the ratio of the two groups' rate ratios.

    Parameters
    ----------
    counts : pandas.DataFrame
        :func:`read_state_counts` output (``state_code``, ``month``, ``value``).
    deployment : pandas.DataFrame
        ``state_code``, ``month`` (first day), ``personnel``.
    before, after : windows (:func:`routerisk.change.parse_window`)
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row: ``estimate``, ``ci_lo``, ``ci_hi``, ``p_value``, ``n_states_more``, ``n_states_less``, ``n_obs``,
        ``method``, ``caveat``.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    check_windows(before, after)
    p = _panel(counts, deployment)
    p["after"] = _month_window(p, after).astype(float)
    p = p[_month_window(p, before) | (p["after"] > 0)].copy()
    mean_after = p[p["after"] > 0].groupby("state_code")["personnel"].mean()
    more = mean_after >= mean_after.median()
    p["more"] = p["state_code"].map(more).fillna(False).astype(float)
    p["treat"] = p["more"] * p["after"]
    p["m"] = pd.to_datetime(p["month"]).dt.strftime("%Y-%m")
    fit = smf.glm("value ~ C(state_code) + C(m) + treat", data=p, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(p["state_code"])[0]})
    lo, hi = fit.conf_int(1 - level).loc["treat"]
    return pd.DataFrame([{
        "estimate": float(np.exp(fit.params["treat"])), "ci_lo": float(np.exp(lo)), "ci_hi": float(np.exp(hi)),
        "p_value": float(fit.pvalues["treat"]), "n_states_more": int(more.sum()), "n_states_less": int((~more).sum()),
        "n_obs": int(fit.nobs), "method": "Poisson GLM, state and month effects, SE clustered by state",
        "caveat": "Parallel trends assumed, not tested here. " + CAVEAT,
    }])  # fmt: skip


def deployment_association(counts, deployment, *, lags=(0, 1, 2, 3), level: float = DEFAULT_LEVEL) -> pd.DataFrame:
    """Lagged association of personnel with the counts, per lag (months).

    Poisson GLM ``count ~ state + month + log2(1 + personnel lagged L months)`` on the months where both are known,
    standard errors clustered by state; ``exp(coef)`` is the multiplicative change of the counts per doubling of
    (1 + personnel) in the same state, relative to the state's own level and to the national month.

    Returns
    -------
    pandas.DataFrame
        One row per lag: ``lag_months``, ``rate_ratio_per_doubling``, ``ci_lo``, ``ci_hi``, ``p_value``, ``n_obs``,
        ``method``, ``caveat``.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rows = []
    for lag in lags:
        d = deployment[["state_code", "month", "personnel"]].copy()
        d["month"] = pd.to_datetime(d["month"]) + pd.DateOffset(months=int(lag))
        p = _panel(counts, d).dropna(subset=["personnel"])
        p["x"] = np.log2(1.0 + p["personnel"])
        p["m"] = pd.to_datetime(p["month"]).dt.strftime("%Y-%m")
        fit = smf.glm("value ~ C(state_code) + C(m) + x", data=p, family=sm.families.Poisson()).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(p["state_code"])[0]})
        lo, hi = fit.conf_int(1 - level).loc["x"]
        rows.append({"lag_months": int(lag), "rate_ratio_per_doubling": float(np.exp(fit.params["x"])),
                     "ci_lo": float(np.exp(lo)), "ci_hi": float(np.exp(hi)), "p_value": float(fit.pvalues["x"]),
                     "n_obs": int(fit.nobs), "method": "Poisson GLM, state and month effects, SE clustered by state",
                     "caveat": CAVEAT})  # fmt: skip
    return pd.DataFrame(rows)


def deployment_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Personnel per state and month from a deployment table (``despliegue``), as ``state_code``, ``month``,
    ``personnel`` (read by :func:`read_state_counts`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("ano,mes,entidad,cve_entidad,despliegue,migrantes_detenidos\\n2019,jul,chiapas,07,2500,1\\n")
    >>> deployment_table(p)[["state_code", "personnel"]].values.tolist()
    [['07', 2500.0]]
    """
    t = read_state_counts(Path(path), value="despliegue")
    return t.rename(columns={"value": "personnel"})[["state_code", "month", "personnel"]]
