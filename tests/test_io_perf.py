"""The readers handle a large table correctly (their speed is measured in benchmarks/, not asserted here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from routerisk import ValidationReport
from routerisk.io import read_incidents


@pytest.mark.slow
def test_100k_rows_read_correctly(tmp_path):
    n = 100_000
    rng = np.random.default_rng(1)
    dates = pd.date_range("2019-01-01", "2021-12-31").strftime("%Y-%m-%d").to_numpy()
    df = pd.DataFrame({
        "id": np.arange(n).astype(str),
        "fecha": rng.choice(dates, n),
        "latitud": np.round(rng.uniform(14.5, 32.5, n), 5).astype(str),
        "longitud": np.round(rng.uniform(-117, -87, n), 5).astype(str),
        "tipo": rng.choice(["homicidio", "secuestro", "robo", "extorsión", "algo"], n),
        "victimas": rng.integers(1, 5, n).astype(str),
    })  # fmt: skip
    df.loc[::100, "latitud"] = ""
    df.loc[5::1000, "latitud"] = "16,5"
    p = tmp_path / "big.csv"
    df.to_csv(p, index=False)
    report = ValidationReport()
    g = read_incidents(p, report=report)
    assert len(g) == n - n // 100
    assert report.counts[str(p)]["rejected"] == n // 100
    assert (report.notes["reason"] == "decimal comma read as a decimal point").sum() == n // 1000
