"""The territory workbook: a Summary sheet and one sheet per territory (openpyxl)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gcrm.territories.kpis import KPIS

__all__ = ["NUMBER_FORMATS", "sheet_titles", "write_workbook"]

NUMBER_FORMATS = {"count": "#,##0", "money": "#,##0.00", "share": "0.0%"}
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_titles(labels: Sequence[str]) -> list[str]:
    """Excel-valid, unique sheet titles (31 characters, none of ``[]:*?/\\``)."""
    seen: set[str] = {"summary", "sources"}
    titles = []
    for label in labels:
        base = _BAD_SHEET_CHARS.sub("_", label).strip("' ")[:31] or "territory"
        title, n = base, 2
        while title.lower() in seen:
            suffix = f" ({n})"
            title, n = base[: 31 - len(suffix)] + suffix, n + 1
        seen.add(title.lower())
        titles.append(title)
    return titles


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def _write_table(ws: Worksheet, table: pd.DataFrame, *, row: int, formats: dict[str, str]) -> int:
    """Write ``table`` with a bold header at ``row``; return the next free row."""
    for j, column in enumerate(table.columns, start=1):
        ws.cell(row=row, column=j, value=str(column)).font = _BOLD
    # openpyxl writes cell by cell; there is no bulk path, and tables here are small.
    for i, values in enumerate(table.itertuples(index=False), start=row + 1):
        for j, (column, value) in enumerate(zip(table.columns, values, strict=True), start=1):
            cell = ws.cell(row=i, column=j, value=_cell(value))
            if column in formats:
                cell.number_format = formats[column]
    return row + len(table) + 2


def _fit(ws: Worksheet, *, min_width: int = 8, max_width: int = 45) -> None:
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is not None:
                length = len(
                    f"{cell.value:,.2f}" if isinstance(cell.value, float) else str(cell.value)
                )
                widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, width in widths.items():
        ws.column_dimensions[get_column_letter(column)].width = max(
            min_width, min(width + 2, max_width)
        )


def _summary_sheet(ws: Worksheet, summary: pd.DataFrame, total: pd.Series) -> None:
    table = summary[["code", "name", *KPIS]].rename(columns={k: v.label for k, v in KPIS.items()})
    formats = {v.label: NUMBER_FORMATS[v.fmt] for v in KPIS.values()}
    end = _write_table(ws, table, row=1, formats=formats)
    total_row = end - 1
    ws.cell(row=total_row, column=1, value="Total").font = _BOLD
    for j, key in enumerate(KPIS, start=3):
        cell = ws.cell(row=total_row, column=j, value=_cell(total[key]))
        cell.font, cell.number_format = _BOLD, NUMBER_FORMATS[KPIS[key].fmt]
    ws.freeze_panes = "C2"
    _fit(ws)


def _sources_sheet(ws: Worksheet, sources: pd.DataFrame) -> None:
    table = sources.assign(measure=sources["measure"].map(lambda m: KPIS[m].label))
    table = table.rename(columns=str.capitalize).rename(columns={"Measure": "KPI"})
    _write_table(ws, table, row=1, formats={"Areas": "#,##0"})
    _fit(ws, max_width=80)


def _territory_sheet(
    ws: Worksheet,
    row: pd.Series,
    *,
    period_label: str,
    series: pd.DataFrame,
    top: pd.DataFrame,
) -> None:
    ws.cell(row=1, column=1, value=f"{row['name']} ({row['code']})").font = _TITLE
    ws.cell(row=2, column=1, value=f"Period: {period_label}")
    kpis = pd.DataFrame(
        {"KPI": [k.label for k in KPIS.values()], "Value": row[list(KPIS)].to_numpy()}
    )
    next_row = _write_table(ws, kpis, row=4, formats={})
    for i, kpi in enumerate(KPIS.values(), start=5):
        ws.cell(row=i, column=2).number_format = NUMBER_FORMATS[kpi.fmt]
    ws.cell(row=next_row, column=1, value="Monthly").font = _BOLD
    monthly = series.reset_index().rename(
        columns={"month": "Month", "revenue": "Revenue", "active": "Active"}
    )
    next_row = _write_table(
        ws,
        monthly,
        row=next_row + 1,
        formats={"Month": "yyyy-mm", "Revenue": NUMBER_FORMATS["money"], "Active": "#,##0"},
    )
    ws.cell(row=next_row, column=1, value="Top customers by revenue").font = _BOLD
    top_table = top.drop(columns="code").rename(columns={"external_id": "Customer id"})
    top_table = top_table.rename(columns=str.capitalize)
    _write_table(
        ws,
        top_table,
        row=next_row + 1,
        formats={"Revenue": NUMBER_FORMATS["money"], "Orders": "#,##0"},
    )
    _fit(ws)


def write_workbook(
    path: Path,
    *,
    summary: pd.DataFrame,
    total: pd.Series,
    period_label: str,
    series: dict[str, pd.DataFrame],
    top: pd.DataFrame,
    sources: pd.DataFrame | None = None,
) -> Path:
    """Write the Summary sheet, one sheet per territory and the Sources sheet (where
    population and households come from) to ``path``; return ``path``."""
    wb = Workbook()
    _summary_sheet(wb.active, summary, total)
    wb.active.title = "Summary"
    titles = sheet_titles(
        [f"{c} {n}" for c, n in zip(summary["code"], summary["name"], strict=True)]
    )
    by_code = dict(list(top.groupby("code", sort=False)))
    empty_top = top.iloc[0:0]
    # One sheet per territory: a loop over territories, not over data rows.
    for title, (_, row) in zip(titles, summary.iterrows(), strict=True):
        monthly = pd.DataFrame({m: frame[row["area_id"]] for m, frame in series.items()})
        monthly.index.name = "month"
        _territory_sheet(
            wb.create_sheet(title),
            row,
            period_label=period_label,
            series=monthly,
            top=by_code.get(row["code"], empty_top),
        )
    if sources is not None:
        _sources_sheet(wb.create_sheet("Sources"), sources)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
