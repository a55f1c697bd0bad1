"""Reading spreadsheets as people have them: CSV in UTF-8 (with or without BOM), UTF-16 or
Windows-1252, comma, semicolon or tab separated; or the first sheet of an XLSX workbook."""

import codecs
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings

from apps.core.errors import ApplicationError

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
DELIMITERS = ",;\t"
_ZIP_MAGIC = b"PK\x03\x04"
# What a spreadsheet runs as a formula (exports.FORMULA_TRIGGERS; a leading tab or CR is
# stripped with the other spaces).
_TRIGGERS = "=+-@"


@dataclass
class Sheet:
    """A file's header row and data rows; `numbers[i]` is the spreadsheet row of `rows[i]`
    (the header is row 1), so that an error names the row a person sees."""

    headers: list[str]
    rows: list[list[object]]
    numbers: list[int]
    encoding: str = ""
    delimiter: str = ""
    ignored: list[str] = field(default_factory=list)


def max_bytes() -> int:
    return settings.IMPORT_MAX_FILE_MB * 1024 * 1024


def check_size(size: int) -> None:
    """Refuse a file over the limit before reading it."""
    if size > max_bytes():
        raise ApplicationError(
            f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{settings.IMPORT_MAX_FILE_MB} MB. Split it into smaller files and import each.",
            extra={"file": "too large"},
        )


def detect_format(*, file_name: str, content: bytes, given: str | None = None) -> str:
    """The format asked for, else the one the content shows (an XLSX is a zip), else the name's."""
    if given:
        if given not in FORMATS:
            raise ApplicationError(
                f"“{given}” is not a format this can read; use csv or xlsx.",
                extra={"format": given},
            )
        return given
    if content.startswith(_ZIP_MAGIC):
        return XLSX
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        return XLSX
    return CSV


def decode_text(content: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: a BOM decides; else UTF-16 if every other byte is
    NUL (a BOM-less UTF-16 export); else UTF-8 if it decodes; else Windows-1252."""
    if content.startswith(codecs.BOM_UTF8):
        return content[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if content.startswith(bom):
            return _decode(content[len(bom) :], name), "utf-16"
    # Before UTF-8: ASCII in UTF-16 is valid UTF-8 too, NULs and all.
    sample = content[:4000]
    if len(sample) >= 4:
        if sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
            return _decode(content, "utf-16-le"), "utf-16-le"
        if sample[0::2].count(0) > len(sample) // 4 and sample[1::2].count(0) == 0:
            return _decode(content, "utf-16-be"), "utf-16-be"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Windows-1252 leaves five bytes undefined; Latin-1 maps every byte, so it never fails.
    try:
        return content.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return content.decode("latin-1"), "latin-1"


def _decode(content: bytes, encoding: str) -> str:
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as error:
        raise ApplicationError(
            f"The file looks like {encoding.upper()} but byte {error.start} is not valid in it; "
            "save it again as UTF-8 CSV.",
            extra={"file": "encoding"},
        ) from None


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: csv.Sniffer on the first lines, else whichever of them the
    header line holds most of (the sniffer gives up on one-column or very regular files)."""
    sample = "\n".join(text[:20000].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _read_csv(content: bytes) -> Sheet:
    text, encoding = decode_text(content)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as error:
        raise ApplicationError(
            f"The file cannot be read as CSV (line {reader.line_num}): {error}.",
            extra={"file": "csv"},
        ) from None
    sheet = _sheet(records)
    sheet.encoding, sheet.delimiter = encoding, delimiter
    return sheet


def _cell(value: object) -> object:
    """XLSX cells as the CSV reader would give them, dates kept as dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # 1234.5 as typed, not 1234.5000000001; whole numbers without ".0".
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _read_xlsx(content: bytes) -> Sheet:
    from openpyxl import load_workbook  # heavy; only when a workbook arrives

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign file
        raise ApplicationError(
            f"The file cannot be opened as an Excel workbook (.xlsx): {error}.",
            extra={"file": "xlsx"},
        ) from None
    try:
        sheet = workbook.worksheets[0]
        records = [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return _sheet(records)


def _text(value: str) -> str:
    """A text cell, stripped; the "'" our exports put before a formula trigger is taken off, so
    that an exported list imports back unchanged."""
    value = value.strip()
    if len(value) > 1 and value[0] == "'" and value[1] in _TRIGGERS:
        return value[1:]
    return value


def _sheet(records: list[list[object]]) -> Sheet:
    def blank(record) -> bool:
        return all(isinstance(value, str) and not value.strip() for value in record)

    start = next((index for index, record in enumerate(records) if not blank(record)), None)
    if start is None:
        raise ApplicationError("The file is empty: it needs a header row.", extra={"file": "empty"})
    headers = [str(value).strip() for value in records[start]]
    rows, numbers = [], []
    for index in range(start + 1, len(records)):
        record = records[index]
        if blank(record):
            continue
        values = [_text(value) if isinstance(value, str) else value for value in record]
        values += [""] * (len(headers) - len(values))
        rows.append(values)
        numbers.append(index + 1)
    return Sheet(headers=headers, rows=rows, numbers=numbers)


def sheet_read(*, content: bytes, file_name: str, file_format: str | None = None) -> Sheet:
    """The header and rows of an uploaded file; a file that cannot be read is refused with a
    message saying why (too large, not a workbook, bad encoding, no header)."""
    check_size(len(content))
    if detect_format(file_name=file_name, content=content, given=file_format) == XLSX:
        return _read_xlsx(content)
    return _read_csv(content)
