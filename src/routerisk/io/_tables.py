"""Reading delimited text files into string columns, with every problem recorded.

The helpers here know nothing about incidents or zones: they read a CSV into strings, number its rows as a
spreadsheet does (header = row 1) and find columns by their common names (English and Spanish). What is rejected
or changed is recorded in a :class:`_Rows` tracker, which passes it to the
:class:`~routerisk.ValidationReport` at the end. Turning the text into numbers, coordinates, booleans
and labels is :mod:`routerisk.io._fields`; dates are :mod:`routerisk.io._dates`.

Row 0 in a report means "the file as a whole" (for example the encoding it was read with).
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import InputError
from .._validate import ValidationReport

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
        # column name an adapter reads -> the file's own name (set by :func:`rename_columns`), used in the report
        self.labels: dict[str, str] = {}

    def label(self, column: str) -> str:
        """The file's name of ``column`` (each part of ``"lat/lon"``) for the report."""
        if not self.labels:
            return column
        return "/".join(self.labels.get(part, part) for part in column.split("/"))

    def __len__(self) -> int:
        return int(self.rows.size)

    def reject(self, mask: np.ndarray, column: str, reason: str, values: Iterable[object] | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        self.report.reject(self.file, self.rows[idx], self.label(column), reason, _take(values, idx))
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
            self._notes.append((idx, self.label(column), reason, _take(values, idx), action))

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


def rename_columns(rows: _Rows, df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``df`` with its columns renamed (``{file's name: name an adapter reads}``, absent ones skipped); the rows'
    report entries keep naming the file's columns.

    Examples
    --------
    >>> rows = _Rows("f.csv", ValidationReport(), np.array([2]))
    >>> df = rename_columns(rows, pd.DataFrame({"LAT_Y": ["x"]}), {"LAT_Y": "lat", "LON_X": "lon"})
    >>> list(df.columns), rows.label("lat/lon")
    (['lat'], 'LAT_Y/lon')
    """
    present = {old: new for old, new in names.items() if old in df.columns}
    rows.labels.update({new: old for old, new in present.items()})
    return df.rename(columns=present)


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
