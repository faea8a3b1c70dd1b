"""How the operator commands print rows: an aligned text table, JSON lines or CSV."""

import csv
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

FORMATS = ("table", "json", "csv")


def add_format_option(parser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (the default), json (one JSON object per line) or csv (with a header row)",
    )


def write_rows(
    write: Callable[[str], None], rows: Iterable[dict], columns: dict[str, str], form: str
) -> None:
    """Write `rows` (dicts holding at least `columns`' keys) one line at a time through `write`.

    `columns` maps each key to its table heading; JSON and CSV use the keys. Times are shown in
    UTC as 2026-01-01T12:00:00Z, lists joined by commas (JSON keeps them lists).
    """
    if form == "json":
        for row in rows:
            write(json.dumps({key: _json_value(row[key]) for key in columns}))
    elif form == "csv":
        write(_csv_line(list(columns)))
        for row in rows:
            write(_csv_line([_text(row[key]) for key in columns]))
    else:
        _write_table(write, rows, columns)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_table(write, rows, columns) -> None:
    # The widths need every row, so a table is held in memory; json and csv stream.
    lines = [list(columns.values())]
    lines += [[_text(row[key]) or "-" for key in columns] for row in rows]
    widths = [max(len(line[index]) for line in lines) for index in range(len(columns))]
    for line in lines:
        write(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _json_value(value):
    if isinstance(value, datetime):
        return utc_text(value)
    return value


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection");
# an issuer comes from a QR code and a request id from a client, so either could.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(
        [f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell for cell in cells]
    )
    return buffer.getvalue()
