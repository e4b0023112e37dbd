"""A report as a file: CSV (UTF-8 with BOM, so Excel reads the Chinese) or XLSX (openpyxl),
with Chinese headers (English under them in XLSX), durations in minutes, rates in percent."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from .reports import GROUP_NAMES, PERIOD_NAMES


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _plain(value: Any) -> Any:
    return value


# (Chinese header, English header, field, conversion)
COLUMNS: tuple[tuple[str, str, str, Callable[[Any], Any]], ...] = (
    ("取号数", "Tickets", "tickets", _plain),
    ("办结数", "Served", "served", _plain),
    ("过号数", "No-shows", "no_show", _plain),
    ("过号率(%)", "No-show rate (%)", "no_show_rate", _percent),
    ("已叫号数", "Called", "called", _plain),
    ("平均等候(分钟)", "Mean wait (min)", "wait_mean_s", _minutes),
    ("等候中位数(分钟)", "Median wait (min)", "wait_p50_s", _minutes),
    ("等候P90(分钟)", "P90 wait (min)", "wait_p90_s", _minutes),
    ("最长等候(分钟)", "Longest wait (min)", "wait_max_s", _minutes),
    ("平均办理(分钟)", "Mean handling (min)", "handle_mean_s", _minutes),
    ("办理P90(分钟)", "P90 handling (min)", "handle_p90_s", _minutes),
    ("按时叫号率(%)", "Within SLA (%)", "sla_share", _percent),
    ("评价数", "Ratings", "evaluations", _plain),
    ("满意度(平均分)", "Satisfaction (1-5)", "satisfaction", _plain),
    ("差评数", "Bad ratings", "bad", _plain),
)


def headers(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The Chinese and the English header rows."""
    group_zh, group_en = GROUP_NAMES[report["group"]]
    zh = ["期间", group_zh] + [c[0] for c in COLUMNS]
    en = ["Period", group_en.capitalize()] + [c[1] for c in COLUMNS]
    return zh, en


def table(report: dict[str, Any]) -> list[list[Any]]:
    """The report's rows, then one total row, as cells."""
    cells = [
        [row["period"], row["name"]] + [convert(row[field]) for _, _, field, convert in COLUMNS]
        for row in report["rows"]
    ]
    total = report["total"]
    cells.append(
        [f"{report['start']}~{report['end']}", "合计"]
        + [convert(total[field]) for _, _, field, convert in COLUMNS]
    )
    return cells


def filename(report: dict[str, Any], extension: str) -> str:
    return (
        f"report-{report['group']}-{report['period']}-{report['start']}-{report['end']}.{extension}"
    )


def to_csv(report: dict[str, Any]) -> bytes:
    """The report as CSV with a Chinese header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers(report)[0])
    writer.writerows(["" if v is None else v for v in row] for row in table(report))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    """The report as an Excel workbook: title, Chinese and English headers, rows, total."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    group_zh, _ = GROUP_NAMES[report["group"]]
    sheet.title = f"按{group_zh}统计"
    title = (
        f"{report['hall']} 效能报表（按{PERIOD_NAMES[report['period']]}、按{group_zh}）"
        f" {report['start']} 至 {report['end']}"
    )
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    zh, en = headers(report)
    sheet.append(zh)
    sheet.append(en)
    fill = PatternFill("solid", fgColor="DCE6F2")
    for cell in sheet[2]:
        cell.font, cell.fill = Font(bold=True), fill
    for cell in sheet[3]:
        cell.font = Font(italic=True, color="5B6475", size=9)
    rows = table(report)
    for row in rows:
        sheet.append(row)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for index, header in enumerate(zh, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(header) * 2 + 2)
    sheet.freeze_panes = "C4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
