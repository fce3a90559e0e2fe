"""The rows of a dataset as views ask for them: records, columns, exports, search and filters.

A :class:`Rows` reads the dataset's Arrow table and never changes it; what every new page asks
again (the colour-by columns, a filter's categories and range) is derived once and kept. It
holds no maps and no threads, so the store, the report and tests use it alike.

*Derived columns* are numbers per row that are not in the table (the store's likely-mislabel
shares and outlier scores): reserved by :meth:`Rows.derive` under a name no table column has,
filled by :meth:`Rows.set_derived` when computed, and from then on coloured, sized, summarised
and filtered like a numeric column. Until then they colour in one colour and filter nothing out.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from projector.errors import ProjectorError, SchemaError
from projector.validation import check_choice

if TYPE_CHECKING:
    from projector.dataset import Dataset

__all__ = ["Rows", "EXPORT_FORMATS", "TOOLTIP_TEXT_CHARS"]

EXPORT_FORMATS = ("csv", "parquet", "jsonl")
TOOLTIP_TEXT_CHARS = 160


@dataclass
class _Derived:
    color_columns: tuple[str, ...] | None = None
    summaries: dict[tuple, Any] = field(default_factory=dict)  # categories and ranges for filters
    derived: dict[str, "_DerivedColumn"] = field(default_factory=dict)  # see Rows.derive


@dataclass
class _DerivedColumn:
    span: tuple[float, float]  # the range its values can take, known before they are
    values: np.ndarray | None = None  # float32 per row; None while computed


class Rows:
    """Questions about the rows of ``dataset`` (never modified); safe to share between threads."""

    def __init__(self, dataset: "Dataset") -> None:
        self.dataset = dataset
        self._lock = threading.Lock()
        self._derived = _Derived()

    def display_columns(self) -> list[str]:
        """Columns worth showing in tables and cards: everything but embeddings and raw media."""
        roles = self.dataset.roles
        hidden = set(roles.vectors) | set(roles.images) | set(roles.audio)
        if roles.generated_id:
            hidden.add(roles.id)
        return [name for name in self.dataset.column_names if name not in hidden]

    def color_columns(self) -> list[str]:
        """Columns a map can be coloured by: labels, numbers, short text with few values, then
        the derived columns (:meth:`derive`)."""
        with self._lock:
            known = self._derived.color_columns
        if known is not None:
            return list(known)
        roles = self.dataset.roles
        names = [*roles.labels, *roles.numeric]
        for name in roles.texts:
            if pc.count_distinct(self.dataset.table.column(name)).as_py() <= 256:
                names.append(name)
        with self._lock:
            self._derived.color_columns = tuple(names)
        return [*names, *self.derived_columns()]

    def numeric_columns(self) -> list[str]:
        """Numeric table columns, then the derived ones (:meth:`derive`)."""
        return [*self.dataset.roles.numeric, *self.derived_columns()]

    def derive(self, name: str, span: tuple[float, float] = (0.0, 1.0)) -> str:
        """Reserve a derived numeric column (values in ``span``) and return its name: ``name``,
        or ``name (projector)`` (then ``(projector 2)``...) when a column is called that already."""
        taken = set(self.dataset.column_names)
        with self._lock:
            taken |= set(self._derived.derived)
            unique, extra = name, 1
            while unique in taken:
                unique = f"{name} (projector{'' if extra == 1 else f' {extra}'})"
                extra += 1
            self._derived.derived[unique] = _DerivedColumn((float(span[0]), float(span[1])))
        return unique

    def set_derived(self, name: str, values: np.ndarray) -> None:
        """The values of the derived column ``name`` (one per row), now computed; kept read-only,
        as every page reads the same array."""
        values = np.array(values, dtype=np.float32)
        values.flags.writeable = False
        if values.shape != (self.dataset.num_rows,):
            raise ProjectorError(f"derived column {name!r} got shape {values.shape}; expected one value per row ({self.dataset.num_rows},)")
        with self._lock:
            if name not in self._derived.derived:
                raise SchemaError(f"{name!r} is not a derived column; derived columns: {list(self._derived.derived)}")
            self._derived.derived[name].values = values

    def derived_columns(self) -> list[str]:
        """Names of the derived columns, computed or not."""
        with self._lock:
            return list(self._derived.derived)

    def derived_values(self, name: str) -> np.ndarray | None:
        """A derived column's values, or None while they are computed (or for another name)."""
        with self._lock:
            column = self._derived.derived.get(name)
        return None if column is None else column.values

    def text_columns(self) -> list[str]:
        roles = self.dataset.roles
        return [*roles.texts, *roles.labels, *([] if roles.generated_id else [roles.id])]

    def numbers(self, column: str) -> np.ndarray:
        """A numeric column as float32 (NaN where missing, and everywhere in a derived column
        not yet computed)."""
        if column in self._derived.derived:
            values = self.derived_values(column)
            return np.full(self.dataset.num_rows, np.nan, dtype=np.float32) if values is None else values
        data = self.dataset.table.column(column)
        if not (pa.types.is_floating(data.type) or pa.types.is_integer(data.type)):
            raise SchemaError(f"column {column!r} holds {data.type}, not numbers")
        return np.asarray(data.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float32)

    def check_row(self, row: int) -> int:
        """``row`` as an int, if it is a row of the table (raises otherwise)."""
        row = int(row)
        if not 0 <= row < self.dataset.num_rows:
            raise ProjectorError(f"row {row} is outside 0..{self.dataset.num_rows - 1}")
        return row

    def value(self, column: str, row: int) -> Any:
        return self.dataset.table.column(column)[self.check_row(row)].as_py()

    def record(self, row: int, *, text_chars: int | None = TOOLTIP_TEXT_CHARS) -> dict[str, Any]:
        """What a tooltip or card shows of ``row``: raw values (escaped by whoever draws them)."""
        row = self.check_row(row)
        roles = self.dataset.roles
        fields: list[tuple[str, str]] = []
        for name in self.display_columns():
            value = self.dataset.table.column(name)[row].as_py()
            text = "" if value is None else str(value)
            if text_chars is not None and len(text) > text_chars:
                text = text[: text_chars - 1] + "…"
            fields.append((name, text))
        label = roles.labels[0] if roles.labels else None
        text_column = roles.texts[0] if roles.texts else None
        return {
            "row": row,
            "id": str(self.dataset.table.column(roles.id)[row].as_py()),
            "label": None if label is None else _text(self.dataset.table.column(label)[row].as_py()),
            "label_column": label,
            "text": None if text_column is None else _snippet(self.dataset.table.column(text_column)[row].as_py(), text_chars),
            "text_column": text_column,
            "images": [name for name in roles.images if self.dataset.table.column(name)[row].is_valid],
            "audio": [name for name in roles.audio if self.dataset.table.column(name)[row].is_valid],
            "fields": fields,
        }

    def table(self, rows: Sequence[int] | np.ndarray, columns: Sequence[str] | None = None) -> pa.Table:
        """The selected ``rows`` (in that order) as an Arrow table, embeddings and media bytes left out."""
        rows = np.asarray(rows, dtype=np.int64)
        names = list(columns) if columns is not None else self.display_columns()
        return self.dataset.table.select(names).take(pa.array(rows) if rows.size else pa.array([], type=pa.int64()))

    def export(self, rows: Sequence[int] | np.ndarray, fmt: str, extra: Mapping[str, pa.Array] | None = None) -> bytes:
        """The selected rows as a CSV, Parquet or JSONL file's bytes (all columns but raw bytes),
        plus ``extra`` columns (one value per dataset row) that the page derived, such as the
        shown map's clusters."""
        check_choice("format", fmt, EXPORT_FORMATS)
        table = self.table(rows, self._exportable_columns(fmt))
        taken = np.asarray(rows, dtype=np.int64)
        for name, values in (extra or {}).items():
            table = table.append_column(name, values.take(pa.array(taken, pa.int64())))
        sink = io.BytesIO()
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, sink)
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            pacsv.write_csv(_formula_safe(table), sink)
        else:
            import json

            for record in table.to_pylist():
                sink.write(json.dumps(record, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
        return sink.getvalue()

    def _exportable_columns(self, fmt: str) -> list[str]:
        roles = self.dataset.roles
        names = []
        for name in self.dataset.column_names:
            kind = self.dataset.table.column(name).type
            binary = pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_struct(kind)
            if binary or (fmt == "csv" and name in roles.vectors) or (roles.generated_id and name == roles.id):
                continue  # CSV has no list cells; Parquet and JSONL keep embeddings
            names.append(name)
        return names

    def search(self, column: str, query: str, *, regex: bool = False) -> np.ndarray:
        """Rows whose ``column`` contains ``query`` (case-insensitive), or matches it as a regex."""
        if column not in self.dataset.column_names:
            raise SchemaError(f"search column {column!r} not found; text columns: {self.text_columns()}")
        if not query:
            return np.zeros(0, dtype=np.int64)
        data = self.dataset.table.column(column)
        if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
            data = data.cast(pa.string())
        if regex:
            try:
                re.compile(query)
            except re.error as exc:
                raise ProjectorError(f"search: {query!r} is not a valid regular expression ({exc})") from None
            try:
                hits = pc.match_substring_regex(data, query, ignore_case=True)
            except pa.ArrowInvalid as exc:  # RE2 refuses a few Python constructs (look-arounds)
                raise ProjectorError(f"search: {query!r} is not supported ({exc}); look-arounds and back-references are not") from None
        else:
            hits = pc.match_substring(data, query, ignore_case=True)
        mask = np.asarray(hits.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return np.flatnonzero(mask)

    def filter_mask(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """Rows that pass every filter, as a bool mask (None: no filter set).

        A filter is ``{column: [allowed categories]}`` for a label/text column or
        ``{column: (low, high)}`` for a numeric one (inclusive). A derived column not yet
        computed filters nothing out.
        """
        mask: np.ndarray | None = None
        for column, rule in filters.items():
            if rule is None or (column in self._derived.derived and self.derived_values(column) is None):
                continue
            if column in self.dataset.roles.numeric or column in self._derived.derived:
                low, high = rule
                values = self.numbers(column)
                passed = (values >= low) & (values <= high)
            else:
                data = self.dataset.table.column(column)
                if pa.types.is_dictionary(data.type):
                    data = data.cast(data.type.value_type)
                allowed = pa.array([str(v) for v in rule], type=pa.string())
                passed = np.asarray(pc.is_in(data.cast(pa.string()), value_set=allowed).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
            mask = passed if mask is None else mask & passed
        return mask

    def categories(self, column: str, limit: int = 256) -> list[str]:
        """The distinct values of a label/text column, most frequent first (for filter widgets;
        counted once, as every new page asks)."""
        key = ("categories", column, limit)
        known = self._derived.summaries.get(key)
        if known is None:
            data = self.dataset.table.column(column)
            counts = pc.value_counts(data.cast(pa.string()) if not pa.types.is_string(data.type) else data)
            pairs = sorted(((c["counts"].as_py(), c["values"].as_py()) for c in counts if c["values"].is_valid), key=lambda p: (-p[0], p[1]))
            known = self._derived.summaries[key] = tuple(value for _, value in pairs[:limit])
        return list(known)

    def value_range(self, column: str) -> tuple[float, float] | None:
        """The smallest and largest finite value of a numeric column (None if it has none);
        found once, as every new page's filters ask. A derived column's is the span it was
        reserved with, so a filter can be offered before its values exist."""
        if column in self._derived.derived:
            return self._derived.derived[column].span
        key = ("range", column)
        if key not in self._derived.summaries:
            values = self.numbers(column)
            finite = values[np.isfinite(values)]
            self._derived.summaries[key] = (float(finite.min()), float(finite.max())) if finite.size else None
        return self._derived.summaries[key]


_FORMULA = r"^[=+\-@\t\r]"  # what a spreadsheet reads as a formula (OWASP's list)


def _formula_safe(table: pa.Table) -> pa.Table:
    """Text cells and column names a spreadsheet would run as a formula, quoted with a leading
    apostrophe (it shows the text as written)."""
    columns, names = [], []
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, _FORMULA)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
        names.append(f"'{name}" if re.match(_FORMULA, name) else name)
    return pa.table(columns, names=names)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _snippet(value: Any, chars: int | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if chars is not None and len(text) > chars:
        return text[: chars - 1] + "…"
    return text
