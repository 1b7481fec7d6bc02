"""The territory report as a PDF (reportlab platypus, A4 landscape): a cover with the period,
the sources and the balance of every territory against the mean, then one page per territory
with its map (drawn offline by :func:`gcrm.maps.render_map_png`, no tiles), its KPIs, its
balance as small bars and its top customers.

Text is set in DejaVu Sans, embedded, when the system has it (every name renders, ``ä`` as
well as ``Ł``); otherwise in the PDF's built-in Helvetica, which covers Latin-1 only.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from reportlab.graphics.shapes import Drawing, Line, Rect
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepInFrame,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gcrm.maps import NO_DATA_COLOUR, format_value, render_map_png
from gcrm.maps.png import WEB_MERCATOR
from gcrm.territories.kpis import KPIS

__all__ = ["PDF_MAX_TERRITORIES", "PdfCover", "PdfProgress", "pdf_fonts", "write_pdf"]

#: A PDF has a page per territory: made for tens of territories (a plan's), not a fine level.
PDF_MAX_TERRITORIES = 200
_PAGE = landscape(A4)
_MARGIN = 12 * mm
#: Width and height of what a page holds (platypus' frame pads 6 points on each side).
_FRAME = (_PAGE[0] - 2 * _MARGIN - 12, _PAGE[1] - 2 * _MARGIN - 12)
#: Up to this many territories the cover is shrunk onto one page; more run on.
_COVER_ROWS = 45
_UNITS = {"count": "", "money": "money", "share": "share"}
_TERRITORY = "#3182bd"
_MAP_PX = (1200, 860)
_MAP_SIZE = (150 * mm, 150 * mm * _MAP_PX[1] / _MAP_PX[0])
#: Around a territory its map shows this share of the territory's extent on each side.
_CONTEXT = 0.35
_BAR = (38 * mm, 3.2 * mm)
_GRID = colors.HexColor("#bbbbbb")
_HEAD = colors.HexColor("#eeeeee")


#: ``progress(stage, done, total)``: how far :func:`write_pdf` is.
PdfProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PdfCover:
    """What the cover says besides the balance table."""

    region: str
    level: str
    period: str
    #: Plain-text lines naming the sources and vintages of the figures.
    sources: Sequence[str]
    #: The region's currency (``EUR``), None when revenue has none.
    currency: str | None = None


@cache
def pdf_fonts() -> tuple[str, str]:
    """``(regular, bold)`` font names: DejaVu Sans registered from the system's fonts (every
    Unicode name renders), else Helvetica (Latin-1 only: ``ä`` yes, ``Ł`` no)."""
    try:
        pdfmetrics.registerFont(TTFont("GcrmSans", "DejaVuSans.ttf"))
        pdfmetrics.registerFont(TTFont("GcrmSans-Bold", "DejaVuSans-Bold.ttf"))
    except (TTFError, OSError):
        return "Helvetica", "Helvetica-Bold"
    return "GcrmSans", "GcrmSans-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = pdf_fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=4),
        "heading": ParagraphStyle("heading", fontName=bold, fontSize=15, leading=18),
        "sub": ParagraphStyle("sub", fontName=bold, fontSize=10, leading=13, spaceBefore=6),
        "body": ParagraphStyle("body", fontName=regular, fontSize=9, leading=11.5),
        "muted": ParagraphStyle(
            "muted", fontName=regular, fontSize=8, leading=10, textColor=colors.HexColor("#555555")
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraphs read markup: names are text, never tags (an area called "<b>" stays that).
    return Paragraph(escape(text), style)


def _fmt(key: str, value: float) -> str:
    return format_value(value, unit=_UNITS[KPIS[key].fmt])


def _deviation(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:+.1%}"


def _table(
    rows: list[list[object]], *, widths: Sequence[float] | None = None, text_columns: int = 1
) -> Table:
    """A table with a bold grey header, numbers right-aligned after ``text_columns``."""
    regular, bold = pdf_fonts()
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                ("LEADING", (0, 0), (-1, -1), 9),
                ("BACKGROUND", (0, 0), (-1, 0), _HEAD),
                ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("ALIGN", (text_columns, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _cover(
    cover: PdfCover,
    *,
    summary: pd.DataFrame,
    balance: pd.DataFrame,
    criteria: Sequence[str],
) -> list[Flowable]:
    s = _styles()
    money = f" Revenue in {cover.currency}." if cover.currency else ""
    story: list[Flowable] = [
        _p(f"Territories of {cover.region}", s["title"]),
        _p(
            f"Level {cover.level}: {len(summary)} territories. Period {cover.period}.{money}",
            s["body"],
        ),
        _p("Sources and vintages", s["sub"]),
        *[_p(line, s["body"]) for line in cover.sources],
        _p("Balance against the mean", s["sub"]),
        _p(
            "Each territory's value, its share of the total and how far it lies from the mean "
            "of all territories (+4.0% is 4% above the mean).",
            s["muted"],
        ),
        Spacer(1, 2 * mm),
    ]
    head: list[object] = ["Code", "Name"]
    for c in criteria:
        head += [KPIS[c].label, "Share", "vs mean"]
    rows: list[list[object]] = [head]
    for b in balance.itertuples(index=False):
        row: list[object] = [str(b.code), _name_cell(str(b.name))]
        for c in criteria:
            row += [
                _fmt(c, getattr(b, c)),
                format_value(getattr(b, f"{c}_share"), unit="share"),
                _deviation(getattr(b, f"{c}_deviation")),
            ]
        rows.append(row)
    total: list[object] = ["Total", ""]
    for c in criteria:
        total += [_fmt(c, float(summary[c].sum())), "100.0%", ""]
    rows.append(total)
    table = _table(rows, text_columns=2)
    _, bold = pdf_fonts()
    table.setStyle(TableStyle([("FONTNAME", (0, -1), (-1, -1), bold)]))
    story.append(table)
    if len(balance) > _COVER_ROWS:
        return story  # too many rows to read on one page: the table runs on, header repeated
    return [KeepInFrame(*_FRAME, story, mode="shrink")]


def _name_cell(name: str) -> Paragraph:
    regular, _ = pdf_fonts()
    style = ParagraphStyle("cell", fontName=regular, fontSize=7.5, leading=9)
    return _p(name, style)


def _bar(deviation: float, *, scale: float) -> Drawing:
    """A bar from the mean (the middle line) to ``deviation``, ``scale`` reaching the edge."""
    width, height = _BAR
    drawing = Drawing(width, height)
    middle = width / 2
    if np.isfinite(deviation):
        length = float(np.clip(deviation / scale, -1, 1)) * middle
        colour = colors.HexColor("#2b8cbe" if deviation >= 0 else "#e6550d")
        drawing.add(
            Rect(
                min(middle, middle + length),
                0.4,
                abs(length),
                height - 0.8,
                fillColor=colour,
                strokeColor=None,
            )
        )
    drawing.add(Line(middle, 0, middle, height, strokeColor=colors.black, strokeWidth=0.6))
    return drawing


def _map_png(areas: gpd.GeoDataFrame, *, area_id: str, title: str, level: str) -> bytes | None:
    """The territory among its neighbours, clipped to a frame around it; None: no geometry."""
    index = np.flatnonzero(areas["area_id"].to_numpy() == area_id)
    if len(index) == 0 or areas.geometry.iloc[index[0]] is None:
        return None
    minx, miny, maxx, maxy = areas.geometry.iloc[index[0]].bounds
    pad = _CONTEXT * max(maxx - minx, maxy - miny, 1.0)
    box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    near = areas.iloc[areas.sindex.query(shapely.box(*box), predicate="intersects")]
    near = near.set_geometry(shapely.clip_by_rect(near.geometry.to_numpy(), *box))
    near = near[~near.geometry.is_empty]
    return render_map_png(
        near,
        fill={area_id: _TERRITORY},
        legend=[(_TERRITORY, title), (NO_DATA_COLOUR, f"other areas of {level}")],
        title_lines=[title],
        highlight=area_id,
        size=_MAP_PX,
    )


def _territory_page(
    row: pd.Series,
    *,
    mean: pd.Series,
    balance: pd.Series,
    criteria: Sequence[str],
    scale: float,
    top: pd.DataFrame | None,
    png: bytes | None,
    cover: PdfCover,
) -> list[Flowable]:
    s = _styles()
    name, code = str(row["name"]), str(row["code"])
    kpis = _table(
        [["KPI", "Value", "Mean"]]
        + [
            [_name_cell(k.label), _fmt(key, row[key]), _fmt(key, mean[key])]
            for key, k in KPIS.items()
        ],
        widths=[48 * mm, 25 * mm, 25 * mm],
    )
    bars = _table(
        [["Balance", "vs mean", ""]]
        + [
            [
                KPIS[c].label,
                _deviation(balance[f"{c}_deviation"]),
                _bar(balance[f"{c}_deviation"], scale=scale),
            ]
            for c in criteria
        ],
        widths=[30 * mm, 20 * mm, _BAR[0] + 4 * mm],
    )
    right: list[Flowable] = [kpis, Spacer(1, 4 * mm), bars]
    left: Flowable = (
        Image(io.BytesIO(png), width=_MAP_SIZE[0], height=_MAP_SIZE[1])
        if png is not None
        else _p("This territory has no geometry to draw.", s["muted"])
    )
    side = Table([[left, right]], colWidths=[_MAP_SIZE[0] + 4 * mm, None], hAlign="LEFT")
    side.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    content: list[Flowable] = [
        _p(f"{name} ({code})", s["heading"]),
        _p(f"Level {cover.level} · period {cover.period}", s["muted"]),
        Spacer(1, 2 * mm),
        side,
    ]
    if top is not None:
        content.append(_p("Top customers by revenue", s["sub"]))
        if top.empty:
            content.append(_p("No orders in the period.", s["body"]))
        else:
            content.append(
                _table(
                    [["#", "Name", "Customer id", "Segment", "Revenue", "Orders"]]
                    + [
                        [
                            str(t.rank),
                            _name_cell(str(t.name)),
                            str(t.external_id),
                            str(t.segment),
                            format_value(t.revenue, unit="money"),
                            str(t.orders),
                        ]
                        for t in top.itertuples(index=False)
                    ],
                    widths=[8 * mm, 90 * mm, 35 * mm, 30 * mm, 30 * mm, 18 * mm],
                    text_columns=4,
                )
            )
    # One page per territory, whatever its names' lengths or top_n: shrink to fit.
    return [KeepInFrame(*_FRAME, content, mode="shrink")]


def _footer(cover: PdfCover, *, pages: int, progress: PdfProgress | None) -> object:
    regular, _ = pdf_fonts()

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        if progress is not None:
            progress("pages", min(doc.page, pages), pages)
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(
            _MARGIN, _MARGIN / 2, f"{cover.region} · territories by {cover.level} · {cover.period}"
        )
        canvas.drawRightString(_PAGE[0] - _MARGIN, _MARGIN / 2, f"page {doc.page}")
        canvas.restoreState()

    return draw


def write_pdf(
    path: Path,
    *,
    cover: PdfCover,
    summary: pd.DataFrame,
    balance: pd.DataFrame,
    criteria: Sequence[str],
    areas: gpd.GeoDataFrame,
    top: pd.DataFrame | None,
    progress: PdfProgress | None = None,
) -> Path:
    """Write the territory report as a PDF to ``path``; return ``path``.

    Parameters
    ----------
    path
        The PDF to write (replaced when it exists).
    cover
        Region, level, period and sources for the cover and the footers.
    summary
        One row per territory: ``area_id``, ``code``, ``name`` and every KPI of
        :data:`gcrm.territories.kpis.KPIS`.
    balance
        One row per territory in the order of ``summary``: ``code``, ``name`` and, per
        criterion, its value, ``<criterion>_share`` and ``<criterion>_deviation``.
    criteria
        The KPIs whose balance the cover and the pages show.
    areas
        The territories' polygons (``area_id``, geometry in EPSG:4326), for the maps.
    top
        Top customers (``code``, ``rank``, ``external_id``, ``name``, ``segment``,
        ``revenue``, ``orders``), or None to leave them out.
    progress
        Called as ``progress(stage, done, total)``: stage ``"maps"`` once per territory's
        map drawn, then ``"pages"`` once per page laid out (the cover counts as one).

    Returns
    -------
    Path
        ``path``: a cover (one page, more when the balance table is long), then exactly one
        page per territory.
    """
    projected = areas[["area_id", "geometry"]].to_crs(WEB_MERCATOR)
    deviations = balance[[f"{c}_deviation" for c in criteria]].to_numpy(dtype=float)
    finite = np.abs(deviations[np.isfinite(deviations)])
    scale = max(float(finite.max()) if finite.size else 0.0, 0.1)
    mean = summary[list(KPIS)].mean()
    by_code = dict(list(top.groupby("code", sort=False))) if top is not None else {}
    story = _cover(cover, summary=summary, balance=balance, criteria=criteria)
    # One page per territory: a loop over territories (tens), not over data rows.
    for i, ((_, row), (_, b)) in enumerate(
        zip(summary.iterrows(), balance.iterrows(), strict=True), start=1
    ):
        title = f"{row['name']} ({row['code']})"
        story.append(PageBreak())
        story += _territory_page(
            row,
            mean=mean,
            balance=b,
            criteria=criteria,
            scale=scale,
            top=None if top is None else by_code.get(row["code"], top.iloc[0:0]),
            png=_map_png(projected, area_id=str(row["area_id"]), title=title, level=cover.level),
            cover=cover,
        )
        if progress is not None:
            progress("maps", i, len(summary))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=_PAGE,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"Territories of {cover.region} by {cover.level}",
        author="gcrm",
    )
    footer = _footer(cover, pages=len(summary) + 1, progress=progress)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return path
