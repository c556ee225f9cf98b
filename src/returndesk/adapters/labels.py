"""Return labels and packing slips as PDF (reportlab), with the RMA as Code 128 and QR.

`OwnLabels` is the default label provider: the store's own label, to stick on the parcel and
hand to any carrier, with no carrier tracking number of its own. A provider that buys labels
through a shipping API implements the same `label()` (services/ports.py LabelProvider).
"""

from __future__ import annotations

import io
from functools import cache
from html import escape
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qrencoder
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from returndesk.services.ports import LabelRequest, ReturnLabel

_LATIN = ("DejaVu", Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
_LATIN_BOLD = ("DejaVu-Bold", Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))
_CJK = ("WQYMicroHei", Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))


@cache
def _font(name: str, path: Path) -> str:
    """Register a TrueType font once; fall back to a built-in face where it is missing."""
    if not path.exists():
        return "Helvetica-Bold" if "Bold" in name else "Helvetica"
    if path.suffix == ".ttc":
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    else:
        pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


def _face(text: str, *, bold: bool = False) -> str:
    if any(ord(ch) >= 0x2E80 for ch in text):  # CJK, kana, full-width forms
        return _font(*_CJK)
    return _font(*(_LATIN_BOLD if bold else _LATIN))


def _text(
    pdf: canvas.Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False
) -> None:
    pdf.setFont(_face(text, bold=bold), size)
    pdf.drawString(x, y, text)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OwnLabels:
    """The store's own label and slip on one A4 page: cut along the line, label on the box."""

    name = "own"

    def label(self, request: LabelRequest) -> ReturnLabel:
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
        pdf.setTitle(f"{request.texts['title']} {request.rma}")
        pdf.setAuthor(request.store_name)
        width, height = A4
        left, top = 18 * mm, height - 20 * mm
        t = request.texts

        # --- the label (upper half) -------------------------------------------------------
        _text(pdf, left, top, t["title"], 16, bold=True)
        _text(pdf, left, top - 8 * mm, f"{t['rma']}: {request.rma}", 12, bold=True)
        _text(pdf, left, top - 14 * mm, f"{t['order']}: {request.order_number}", 10)
        _text(pdf, left, top - 26 * mm, t["ship_to"], 10)
        y = top - 34 * mm
        for i, line in enumerate((request.address_name, *request.address_lines)):
            _text(pdf, left, y, _fit(line, 48), 15 if i == 0 else 13, bold=i == 0)
            y -= 7 * mm
        if request.sender_lines:
            y -= 3 * mm
            _text(pdf, left, y, t["from"], 9)
            for line in request.sender_lines:
                y -= 5 * mm
                _text(pdf, left, y, _fit(line, 60), 10)

        barcode = code128.Code128(request.rma, barHeight=22 * mm, barWidth=0.5 * mm, quiet=True)
        barcode.drawOn(pdf, left - 6 * mm, height / 2 + 14 * mm)
        _text(pdf, left, height / 2 + 8 * mm, request.rma, 11)

        qr = QrCodeWidget(request.rma, barLevel="M")
        x0, y0, x1, y1 = qr.getBounds()
        side = 48 * mm
        drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
        drawing.add(qr)
        renderPDF.draw(drawing, pdf, width - side - 16 * mm, top - side + 4 * mm)

        # --- cut line ------------------------------------------------------------------------
        pdf.setDash(4, 3)
        pdf.line(10 * mm, height / 2, width - 10 * mm, height / 2)
        pdf.setDash()
        _text(pdf, 12 * mm, height / 2 + 2 * mm, t["cut"], 7)

        # --- the packing slip (lower half) ----------------------------------------------------
        y = height / 2 - 14 * mm
        _text(pdf, left, y, t["slip"], 14, bold=True)
        y -= 7 * mm
        _text(pdf, left, y, f"{t['rma']}: {request.rma}   {t['order']}: {request.order_number}", 10)
        y -= 10 * mm
        _text(pdf, left, y, t["items"], 11, bold=True)
        for item in request.items[:14]:
            y -= 6 * mm
            _text(pdf, left, y, f"{item.quantity} ×  {_fit(item.title, 56)}", 10)
            _text(pdf, width - 70 * mm, y, _fit(item.sku, 28), 9)
        y -= 12 * mm
        for line in request.instructions[:6]:
            _text(pdf, left, y, _fit(line, 95), 9)
            y -= 5 * mm
        pdf.showPage()
        pdf.save()
        return ReturnLabel(pdf=buffer.getvalue(), carrier="", tracking_number="")


def qr_svg(value: str, pixels: int = 240) -> str:
    """A QR code of `value` as a small inline SVG (one path; a 4-module quiet zone), for a
    screen to show at a drop-off counter instead of a printed label."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(value)
    code.make()
    n = code.getModuleCount()
    path = "".join(f"M{c},{r}h1v1h-1z" for r in range(n) for c in range(n) if code.isDark(r, c))
    side = n + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 {side} {side}" '
        f'width="{pixels}" height="{pixels}" shape-rendering="crispEdges" role="img" '
        f'aria-label="{escape(value)}"><rect x="-4" y="-4" width="{side}" height="{side}" '
        f'fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
