"""Reading delimited text files and parsing their fields, vectorised, with every problem recorded.

The helpers here know nothing about incidents or zones: they read a CSV into strings, number its rows as a
spreadsheet does (header = row 1), find columns by their common names (English and Spanish), and turn text into
coordinates, numbers, dates, booleans and canonical labels. Each records what it rejects or changes in a
:class:`_Rows` tracker, which passes it to the :class:`~routerisk._validate.ValidationReport` at the end.

Row 0 in a report means "the file as a whole" (for example the encoding it was read with).
"""

from __future__ import annotations

import csv
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validate import ValidationReport
from ..crs import MEXICO_BOUNDS

#: Victim counts above this are rejected as absurd for a single incident.
MAX_VICTIMS = 1000

_DELIMITERS = (",", ";", "\t", "|")
_SKIP_RE = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


def norm_name(name: object) -> str:
    """Lower-case, accent-free, underscore-separated form of a column name or a label.

    Examples
    --------
    >>> norm_name("  Número de Víctimas ")
    'numero_de_victimas'
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _fold(value: object) -> str:
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.lower().split())


def map_unique(values: pd.Series, func) -> np.ndarray:
    """Apply ``func`` once per distinct value (missing values as ``""``); return an object array aligned to
    ``values``. This is how free text is classified without a Python loop over rows."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [func("")], dtype=object)
    return mapped[codes]  # code -1 (missing) takes the last entry


def norm_text(values: pd.Series) -> pd.Series:
    """Normalise free-text labels (lower case, no accents, single spaces), once per distinct value."""
    return pd.Series(map_unique(values, _fold), index=values.index, dtype=object)


class _Rows:
    """Tracks the rows of one file while they are validated.

    Rejections go to the report at once; notes are held back and written at :meth:`finish` only for rows that
    were kept, so a rejected row is not also listed as "changed".
    """

    def __init__(self, file: str, report: ValidationReport, rows: np.ndarray) -> None:
        self.file = file
        self.report = report
        self.rows = np.asarray(rows, dtype="int64")
        self.bad = np.zeros(self.rows.size, dtype=bool)
        self.n_skipped = 0  # malformed lines rejected before they became rows
        self._notes: list[tuple[np.ndarray, str, str, np.ndarray | None, str]] = []  # (row positions, ...)
        # slash dates (``05/06/2019``): per date column, whether a first / second number above 12 was seen, and
        # the pair to use instead (set by a chunked reader to what the whole file holds)
        self.slash_seen: dict[str, tuple[bool, bool]] = {}
        self.slash_order: dict[str, tuple[bool, bool]] = {}

    def __len__(self) -> int:
        return int(self.rows.size)

    def reject(self, mask: np.ndarray, column: str, reason: str, values: Iterable[object] | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        self.report.reject(self.file, self.rows[idx], column, reason, _take(values, idx))
        self.bad |= mask

    def note(
        self,
        mask: np.ndarray,
        column: str,
        reason: str,
        values: Iterable[object] | None = None,
        action: str = "changed",
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            idx = np.flatnonzero(mask)
            self._notes.append((idx, column, reason, _take(values, idx), action))

    def note_file(self, reason: str, action: str = "noted") -> None:
        """A note about the whole file (row 0, column ``(file)``)."""
        self.report.note(self.file, [0], "(file)", reason, action=action)

    def note_file_once(self, reason: str, action: str = "noted") -> None:
        """:meth:`note_file`, unless an earlier chunk of the same file already wrote this note."""
        for e in getattr(self.report, "_entries", ()):
            if len(e) == 1 and e["row"].iat[0] == 0 and e["reason"].iat[0] == reason and e["file"].iat[0] == self.file:
                return
        self.note_file(reason, action)

    def finish(self) -> np.ndarray:
        """Write the held notes of kept rows; return the mask of kept rows."""
        keep = ~self.bad
        for idx, column, reason, vals, action in self._notes:
            k = keep[idx]
            if k.any():
                taken = None if vals is None else vals[k]
                self.report.note(self.file, self.rows[idx[k]], column, reason, taken, action)
        self._notes.clear()
        return keep


def _take(values: Iterable[object] | None, idx: np.ndarray) -> np.ndarray | None:
    """``values[idx]`` as an object array, converting only the rows taken."""
    if values is None:
        return None
    if isinstance(values, (pd.Series, pd.Index)):
        return np.asarray(values.take(idx).to_numpy(dtype=object, na_value=None), dtype=object)
    return np.asarray(np.asarray(values)[idx], dtype=object)


# --------------------------------------------------------------------------------------------------- reading

_HEAD_BYTES = 65536
_BLOCK_BYTES = 1 << 24  # the encoding check reads the file in blocks of 16 MiB
#: Automatic chunks hold about this many bytes of CSV text (a few tens of MB of strings in memory).
CHUNK_TARGET_BYTES = 24 * 2**20
#: Bounds of the automatic chunk size, in rows.
CHUNK_ROWS_MIN, CHUNK_ROWS_MAX = 50_000, 1_000_000
_PARSE_ERRORS = (pd.errors.ParserError, UnicodeDecodeError, ValueError, OverflowError, MemoryError)
#: pandas before 3.0 does not reliably skip lines with too many fields once past the first chunk (it reads them
#: with the extra fields dropped, without a warning), so with it every file is parsed at once.
CHUNKS_RELIABLE = int(pd.__version__.split(".")[0]) >= 3


def _open_error(exc: OSError, file: str) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"input file {file!r} does not exist", path=file)
    if isinstance(exc, IsADirectoryError):
        return InputError(f"input {file!r} is a folder, expected a file", path=file)
    return InputError(f"cannot read {file!r}: {exc.strerror}", path=file)


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes with ``encoding``, read block by block (memory independent of its size)."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as fh:
            while block := fh.read(_BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode_check(path: Path, head: bytes, name: str) -> str:
    """Return the encoding to read the file with; raise InputError for binary content.

    ``head`` is the start of the file; the UTF-8 and Windows-1252 checks stream the whole file.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"PK\x03\x04"):
        msg = f"{name!r} is a ZIP archive (an Excel workbook?), not a text file; save it as CSV"
        raise InputError(msg, path=name)
    utf16 = _utf16_without_bom(head)
    if utf16 is not None and _decodes(path, utf16):
        return utf16
    if b"\x00" in head:
        msg = f"{name!r} is not a text file (it contains binary data); expected a CSV"
        raise InputError(msg, path=name)
    if _decodes(path, "utf-8"):
        return "utf-8-sig"
    return "cp1252" if _decodes(path, "cp1252") else "latin-1"


def _utf16_without_bom(head: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when the NUL bytes of ``head`` fall where UTF-16 puts them, else None.

    Text in a Latin script saved as UTF-16 without a byte-order mark has a NUL as the high byte of nearly every
    character: at odd offsets (little-endian) or even offsets (big-endian), and almost never at the others.
    Binary data has NULs scattered over both.
    """
    n = len(head) // 2 * 2
    if n < 4:
        return None
    even = np.frombuffer(head[:n:2], dtype=np.uint8) == 0
    odd = np.frombuffer(head[1:n:2], dtype=np.uint8) == 0
    half = n // 2
    if odd.mean() >= 0.6 and even.sum() <= max(1, half // 100):
        return "utf-16-le"
    if even.mean() >= 0.6 and odd.sum() <= max(1, half // 100):
        return "utf-16-be"
    return None


def _is_blank_file(path: Path, head: bytes) -> bool:
    """Empty or whitespace only (streamed; stops at the first block with other content)."""
    if not head or not head.isspace():
        return not head
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK_BYTES):
            if not block.isspace():
                return False
    return True


#: Most columns a CSV header may have (a file with more is not a table of records; parsing a million columns
#: takes gigabytes). Real exports have a few dozen.
MAX_COLUMNS = 2_000


def _check_header(head: bytes, text_head: str, first_line: str, delimiter: str, file: str) -> None:
    """Refuse, before pandas parses anything, a header with more than :data:`MAX_COLUMNS` fields or one longer
    than the first :data:`_HEAD_BYTES` bytes of the file."""
    n = first_line.count(delimiter) + 1
    if n > MAX_COLUMNS:
        msg = (
            f"{file!r} has {n:,} or more columns in its header; at most {MAX_COLUMNS:,} are read "
            f"(is it a table of records, with {delimiter!r} as the delimiter?)"
        )
        raise InputError(msg, path=file)
    if len(head) == _HEAD_BYTES and not any(ch in text_head for ch in "\r\n"):
        msg = f"{file!r} has a header line longer than {_HEAD_BYTES // 1024} KiB; it is not a table of records"
        raise InputError(msg, path=file)


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def auto_chunksize(path: Path, head: bytes) -> int:
    """Rows per chunk for a file: about :data:`CHUNK_TARGET_BYTES` of text, from the mean line length of its start,
    bounded by :data:`CHUNK_ROWS_MIN` and :data:`CHUNK_ROWS_MAX`."""
    lines = max(head.count(b"\n"), 1)
    mean = max(len(head) / lines, 1.0)
    return int(min(max(CHUNK_TARGET_BYTES / mean, CHUNK_ROWS_MIN), CHUNK_ROWS_MAX))


class TextChunks:
    """A delimited text file read in chunks of rows, each as string columns with spreadsheet row numbers.

    Iterating yields ``(df, rows)`` for each chunk that holds at least one non-blank row: ``df`` has string
    columns and a fresh ``RangeIndex``; ``rows`` is a :class:`_Rows` tracker writing to ``report``. Rows keep
    the numbers they would have if the file were read at once (header = 1; lines pandas skipped as malformed
    keep their numbers), so every entry of the report is the same whatever the chunk size. After the loop,
    :meth:`finish` writes the file-level notes and raises when the file had no usable row.

    Tries UTF-8 (with or without BOM), then Windows-1252, then Latin-1, and notes which was used when it was
    not UTF-8. Lines with more fields than the header are rejected (reported with their line number); blank
    lines are skipped. A file that cannot be used at all raises :class:`InputError`.

    Parameters
    ----------
    path : pathlib.Path
    report : ValidationReport
    file : str
        The name used in the report and in messages.
    chunksize : int or None, default None
        Rows per chunk; ``None`` reads the whole file as one chunk; ``"auto"`` uses :func:`auto_chunksize`.
        Ignored (one chunk) with pandas before 3.0, see :data:`CHUNKS_RELIABLE`.
    """

    def __init__(self, path: Path, report: ValidationReport, file: str, chunksize: int | str | None = None) -> None:
        self.path, self.report, self.file = path, report, file
        try:
            with path.open("rb") as fh:
                head = fh.read(_HEAD_BYTES)
        except OSError as exc:
            raise _open_error(exc, file) from None
        if _is_blank_file(path, head):
            msg = f"input file {file!r} is empty"
            raise InputError(msg, path=file)
        self.encoding = _decode_check(path, head, file)
        text_head = head.decode(self.encoding, errors="replace").lstrip("\ufeff")
        first_line = text_head.splitlines()[0] if text_head.splitlines() else ""
        self.delimiter = _sniff_delimiter(first_line)
        self.chunksize = auto_chunksize(path, head) if chunksize == "auto" else chunksize
        if not CHUNKS_RELIABLE:
            self.chunksize = None
        _check_header(head, text_head, first_line, self.delimiter, file)
        self.n_rows = 0  # rows pandas returned (blank ones included)
        self.n_data = 0  # rows with data
        self.n_blank = 0
        self.n_skipped = 0  # malformed lines rejected before they became rows
        self._skipped = np.empty(0, dtype="int64")  # their line numbers
        self._next_line = 2
        self.columns: list[str] | None = None

    def _parse_error(self, exc: BaseException) -> InputError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return InputError(f"cannot parse {self.file!r} as CSV: {detail}", path=self.file)

    def _reader(self):
        try:
            return pd.read_csv(
                self.path,
                encoding=self.encoding,
                sep=self.delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                on_bad_lines="warn",
                engine="c",
                quoting=csv.QUOTE_MINIMAL,
                chunksize=self.chunksize,
            )
        except pd.errors.EmptyDataError:
            msg = f"input file {self.file!r} is empty"
            raise InputError(msg, path=self.file) from None
        except OSError as exc:
            raise _open_error(exc, self.file) from None
        except _PARSE_ERRORS as exc:
            raise self._parse_error(exc) from None

    def _chunks(self):
        """Raw chunks with the malformed lines pandas skipped while reading each."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = self._reader()
        if self.chunksize is None:
            yield reader, caught
            return
        with reader:
            while True:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    try:
                        df = reader.get_chunk()
                    except StopIteration:
                        df = None
                    except _PARSE_ERRORS as exc:
                        raise self._parse_error(exc) from None
                if df is None:
                    if caught:
                        yield pd.DataFrame(columns=self.columns or []), caught
                    return
                yield df, caught

    def __iter__(self):
        report, file = self.report, self.file
        if self.encoding not in ("utf-8-sig", "utf-16"):
            label = {"cp1252": "Windows-1252 (Latin-1)", "latin-1": "Latin-1", "utf-16-le": "UTF-16 little-endian "
                     "(no byte-order mark)", "utf-16-be": "UTF-16 big-endian (no byte-order mark)"}[self.encoding]
            report.note(file, [0], "(file)", f"not valid UTF-8; read as {label}", action="encoding")
        for df, caught in self._chunks():
            skipped = []
            for w in caught:
                msg = str(w.message)
                skipped.extend((int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in _SKIP_RE.finditer(msg))
            if self.columns is None:
                self.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
            df.columns = self.columns
            df = df.reset_index(drop=True)
            n = len(df)
            # records are numbered from 2 (header = 1); lines pandas skipped as malformed keep their numbers
            if skipped:
                self._skipped = np.union1d(self._skipped, [sk[0] for sk in skipped])
            pending = self._skipped[self._skipped >= self._next_line]
            lines = np.arange(self._next_line, self._next_line + n + len(pending), dtype="int64")
            rows = lines[~np.isin(lines, pending)][:n]
            if n:
                self._next_line = int(rows[-1]) + 1
            self.n_rows += n
            self.n_skipped += len(skipped)
            for line, expected, saw in skipped:
                report.reject(file, [line], "", f"line has {saw} fields but the header has {expected}")
            if n == 0:
                continue
            # blank lines: every field empty
            blank = np.ones(n, dtype=bool)
            for c in df.columns:
                blank &= (df[c].fillna("").str.strip() == "").to_numpy(dtype=bool)
                if not blank.any():
                    break
            if blank.any():
                self.n_blank += int(blank.sum())
                df, rows = df.loc[~blank].reset_index(drop=True), rows[~blank]
            if len(df) == 0:
                continue
            self.n_data += len(df)
            yield df, _Rows(file, report, rows)

    def finish(self) -> None:
        """Write the file-level note on blank lines; raise when the file had no row with data."""
        file = self.file
        if self.n_rows == 0 and not self.n_skipped:
            msg = f"input file {file!r} has a header but no rows"
            raise InputError(msg, path=file)
        if self.n_blank:
            self.report.note(file, [0], "(file)", f"{self.n_blank} blank lines skipped", action="skipped")
        if self.n_data == 0:
            msg = f"input file {file!r} has no rows with data (only a header, blank lines or malformed lines)"
            raise InputError(msg, path=file)



def read_text_table(path: Path, report: ValidationReport, file: str) -> tuple[pd.DataFrame, _Rows]:
    """Read a delimited text file at once into string columns, with spreadsheet row numbers.

    See :class:`TextChunks` for the encodings, malformed and blank lines. A file that cannot be used at all
    raises :class:`InputError`.
    """
    chunks = TextChunks(path, report, file)
    got = list(chunks)
    chunks.finish()
    df, rows = got[0]
    rows.n_skipped = chunks.n_skipped
    return df, rows


def find_column(columns: Iterable[str], aliases: Iterable[str]) -> str | None:
    """First column whose normalised name is one of ``aliases`` (already normalised), in alias order."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm_name(c), c)
    for a in aliases:
        if a in by_norm:
            return by_norm[a]
    return None


def find_columns(columns: Iterable[str], aliases: Iterable[str]) -> list[str]:
    """Every column whose normalised name is one of ``aliases``, in alias order (then column order)."""
    order = {a: i for i, a in enumerate(aliases)}
    found = [(order[norm_name(c)], j, c) for j, c in enumerate(columns) if norm_name(c) in order]
    return [c for _, _, c in sorted(found)]


def text_col(df: pd.DataFrame, col: str | None) -> pd.Series:
    """Column as stripped strings ("" when missing); an all-empty series when ``col`` is None."""
    if col is None:
        return pd.Series("", index=df.index, dtype="str")
    s = df[col]
    if not pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        s = s.astype(object).where(s.notna(), "").astype(str).astype("str")
    return s.fillna("").str.strip()


# --------------------------------------------------------------------------------------------------- numbers

_COMMA_DEC_RE = r"[+-]?\d+,\d+"


def parse_number(
    rows: _Rows, raw: pd.Series, column: str, *, decimal_comma: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Parse text to float. Returns ``(values, missing)``; non-numeric text is rejected.

    A value like ``19,43`` (one comma, no dot) is read as 19.43 and noted.
    """
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return vals, np.isnan(vals)
    s = text_col(raw.to_frame("v"), "v")
    missing = (s == "").to_numpy(dtype=bool)
    with np.errstate(all="ignore"):
        vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan).copy()
    failed = np.isnan(vals) & ~missing
    if decimal_comma and failed.any():
        idx = np.flatnonzero(failed)
        sub = s.iloc[idx]
        comma = sub.str.fullmatch(_COMMA_DEC_RE).to_numpy(dtype=bool)
        if comma.any():
            fixed = pd.to_numeric(sub[comma].str.replace(",", ".", regex=False), errors="coerce")
            vals[idx[comma]] = fixed.to_numpy(dtype="float64", na_value=np.nan)
            mask = np.zeros(len(s), dtype=bool)
            mask[idx[comma]] = True
            rows.note(mask, column, "decimal comma read as a decimal point", s, "converted")
            failed[idx[comma]] = False
    rows.reject(failed, column, "not a number", s)
    return vals, missing


# --------------------------------------------------------------------------------------------------- coordinates

LAT_ALIASES = ("lat", "latitude", "latitud", "y", "lat_dd", "latitude_dd", "decimal_latitude")
LON_ALIASES = ("lon", "lng", "long", "longitude", "longitud", "x", "lon_dd", "longitude_dd", "decimal_longitude")
COORDS_ALIASES = ("coordinates", "coordenadas", "location_coordinates", "coords", "latlon", "lat_lon", "latlng")


# "lat, lon" / "lat lon" / "(lat, lon)"; "19,43; -99,13" (semicolon, decimal commas); "19,43, -99,13" (4 parts)
_PAIR_RE = r"^[(\[]?\s*(?P<lat>[^,;\s()\[\]]+)\s*(?:[,;]\s*|\s+)(?P<lon>[^,;\s()\[\]]+)\s*[)\]]?$"
_SEMI_RE = r"^[(\[]?\s*(?P<lat>[^;]+?)\s*;\s*(?P<lon>[^;]+?)\s*[)\]]?$"
_FOUR_RE = r"^[(\[]?\s*(?P<a>[+-]?\d+),(?P<b>\d+)\s*,\s*(?P<c>[+-]?\d+),(?P<d>\d+)\s*[)\]]?$"


def _extract(s: pd.Series, pattern: str) -> dict[str, pd.Series]:
    """Named groups of ``pattern`` (full match) as string columns, "" where it does not match (pyarrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.extract_regex(pa.array(s.array), pattern)
    out = {}
    for f in found.type:
        text = pc.cast(pc.fill_null(pc.struct_field(found, f.name), ""), pa.large_string())
        out[f.name] = pd.Series(pd.arrays.ArrowStringArray(text), index=s.index).astype("str")
    return out


def split_coordinates(rows: _Rows, raw: pd.Series, column: str) -> tuple[pd.Series, pd.Series]:
    """Split a ``"lat, lon"`` column into two text columns.

    Accepts ``;`` or spaces as separator, brackets, and two numbers written with decimal commas
    (``"19,43, -99,13"``, noted). Anything else is rejected ("cannot split").
    """
    s = text_col(raw.to_frame("v"), "v")
    pair = _extract(s, _PAIR_RE)
    lat, lon = pair["lat"], pair["lon"]
    done = (lat != "").to_numpy(dtype=bool) | (s == "").to_numpy(dtype=bool)
    if not done.all():
        idx = np.flatnonzero(~done)
        sub = s.iloc[idx]
        semi = _extract(sub, _SEMI_RE)
        four = _extract(sub, _FOUR_RE)
        is_semi = (semi["lat"] != "").to_numpy(dtype=bool)
        is_four = (four["a"] != "").to_numpy(dtype=bool) & ~is_semi
        lat, lon = lat.copy(), lon.copy()
        lat.iloc[idx[is_semi]] = semi["lat"][is_semi].to_numpy(dtype=object)
        lon.iloc[idx[is_semi]] = semi["lon"][is_semi].to_numpy(dtype=object)
        lat.iloc[idx[is_four]] = (four["a"] + "." + four["b"])[is_four].to_numpy(dtype=object)
        lon.iloc[idx[is_four]] = (four["c"] + "." + four["d"])[is_four].to_numpy(dtype=object)
        mask = np.zeros(len(s), dtype=bool)
        mask[idx[is_four]] = True
        rows.note(mask, column, "decimal commas read as decimal points", s, "converted")
        mask[:] = False
        mask[idx[~is_semi & ~is_four]] = True
        rows.reject(mask, column, 'cannot split into latitude and longitude (expected "lat, lon")', s)
    return lat, lon


POLE_REASON = "latitude at a pole (-90 or 90): not a place on a route, and it cannot be projected"


def validate_lonlat(
    rows: _Rows,
    lon: np.ndarray,
    lat: np.ndarray,
    lon_col: str,
    lat_col: str,
    *,
    raw: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Check longitude/latitude arrays in place of a pair of columns; return possibly swapped copies.

    Rules, in order (rows already rejected for another reason are left alone):

    1. missing -> rejected ("missing coordinate");
    2. both exactly 0 -> rejected (a common placeholder for "unknown");
    3. out of range (|lat| > 90 or |lon| > 180): if the swapped pair is in range it is swapped and noted,
       otherwise rejected;
    4. in range but a probable swap: the pair as given lies outside the Mexico region
       (:data:`routerisk.crs.MEXICO_BOUNDS`) while the swapped pair lies inside it -> swapped and noted
       (a latitude between -90 and -86 with a longitude between 14 and 33.5 is in Antarctica's ocean,
       never a migration route);
    5. latitude -90 or 90 (a pole) -> rejected: no route passes there, and the analysis projection (a conic)
       sends the south pole to infinity.
    """
    lon = np.array(lon, dtype="float64")
    lat = np.array(lat, dtype="float64")
    if raw is None:
        raw = (pd.Series(lat).astype(str) + ", " + pd.Series(lon).astype(str)).to_numpy(dtype=object)
    vals = raw
    col = lat_col if lat_col == lon_col else f"{lat_col}/{lon_col}"
    already = rows.bad.copy()
    missing = (np.isnan(lon) | np.isnan(lat)) & ~already
    rows.reject(missing, col, "missing coordinate", vals)
    infinite = ~np.isnan(lon) & ~np.isnan(lat) & ~(np.isfinite(lon) & np.isfinite(lat)) & ~already
    rows.reject(infinite, col, "coordinate out of range (latitude -90..90, longitude -180..180)", vals)
    with np.errstate(invalid="ignore"):
        zero = (lon == 0) & (lat == 0) & ~already
        rows.reject(zero, col, "coordinates are 0, 0 (a placeholder for unknown)", vals)
        fin = np.isfinite(lon) & np.isfinite(lat) & ~already & ~zero
        in_range = fin & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        swapped_ok = fin & (np.abs(lon) <= 90) & (np.abs(lat) <= 180)
        out = fin & ~in_range
        w, s, e, n = MEXICO_BOUNDS
        inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        inside_sw = (lat >= w) & (lat <= e) & (lon >= s) & (lon <= n)
    swap_out = out & swapped_ok
    rows.reject(out & ~swapped_ok, col, "coordinate out of range (latitude -90..90, longitude -180..180)", vals)
    swap_mex = in_range & ~inside & inside_sw
    swap = swap_out | swap_mex
    rows.note(swap_out, col, "latitude and longitude swapped (only valid swapped)", vals, "swapped")
    rows.note(swap_mex, col, "latitude and longitude swapped (only inside Mexico's region swapped)", vals, "swapped")
    lon2 = np.where(swap, lat, lon)
    lat2 = np.where(swap, lon, lat)
    with np.errstate(invalid="ignore"):
        pole = (np.abs(lat2) >= 90) & ~rows.bad
    rows.reject(pole, col, POLE_REASON, vals)
    bad = rows.bad
    lon2[bad] = np.nan
    lat2[bad] = np.nan
    return lon2, lat2


def decimals(text: pd.Series) -> np.ndarray:
    """Number of digits after the decimal separator of each numeric text (0 when none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.astype("str").fillna("").array)
    pos = pc.find_substring_regex(pc.utf8_reverse(arr), r"[.,]")
    return np.maximum(pos.to_numpy(zero_copy_only=False), 0).astype("int64")


# --------------------------------------------------------------------------------------------------- labels

_TRUE = {"true", "t", "yes", "y", "si", "s", "1", "verdadero", "x"}
_FALSE = {"false", "f", "no", "n", "0", "falso", ""}


def parse_bool(rows: _Rows, raw: pd.Series | None, column: str, *, default: bool, n: int) -> np.ndarray:
    """Booleans from text (true/false, yes/no, sí/no, 1/0); missing -> ``default``; other text rejected."""
    if raw is None:
        return np.full(n, default, dtype=bool)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.fillna(default).to_numpy(dtype=bool)

    def classify(value: object) -> int:
        f = _fold(value)
        return 2 if f == "" else 1 if f in _TRUE else 0 if f in _FALSE else -1

    code = map_unique(raw, classify).astype("int64")
    rows.reject(code == -1, column, "not a yes/no value", raw)
    return np.where(code == 2, default, code == 1)


def map_labels(
    rows: _Rows,
    raw: pd.Series,
    column: str,
    *,
    allowed: Iterable[str],
    synonyms: Mapping[str, str],
    keywords: Iterable[tuple[str, str]] = (),
    default: str,
    missing: str | None = None,
    note_unknown: str | None = None,
    note_missing: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Map free text to canonical labels: exact label, then synonym, then keyword (regex) search.

    Matching is on normalised text (lower case, no accents). Work is done once per distinct value. Unknown
    text becomes ``default`` (noted with ``note_unknown``); empty text becomes ``missing`` (or ``default``).
    Returns the labels and the mask of non-empty text that matched nothing.
    """
    allowed = tuple(allowed)
    syn = {" ".join(norm_name(k).split("_")): v for k, v in synonyms.items()}
    kw = [(re.compile(p), v) for p, v in keywords]

    def classify(value: object) -> str | None:
        u = _fold(value)
        if u == "":
            return None
        key = " ".join(norm_name(u).split("_"))
        label = key.replace(" ", "_")
        if label in allowed:
            return label
        if key in syn:
            return syn[key]
        return next((v for p, v in kw if p.search(u)), "")

    out = map_unique(raw, classify)
    empty = pd.isna(out)
    unknown = out == ""
    out[unknown] = default
    out[empty] = missing if missing is not None else default
    if note_unknown:
        rows.note(unknown, column, note_unknown, raw, "mapped")
    if note_missing:
        rows.note(empty, column, note_missing, None, "defaulted")
    return out, unknown
