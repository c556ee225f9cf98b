"""The return label and packing slip as a response, in the buyer's language (API and portal)."""

from __future__ import annotations

from fastapi.responses import Response

from returndesk.adapters.labels import OwnLabels
from returndesk.services.ports import LabelItem, LabelRequest
from returndesk.services.return_labels import LabelData
from returndesk.web.pages.i18n import translations

_LABELS = OwnLabels()


def label_texts(language: str) -> dict[str, str]:
    _ = translations(language).gettext
    return {
        "title": _("Return label"),
        "rma": _("Return number (RMA)"),
        "order": _("Order"),
        "ship_to": _("Send to"),
        "from": _("Sender"),
        "cut": _("Cut along the line and stick the upper half on the parcel."),
        "slip": _("Packing slip: put this half in the parcel"),
        "items": _("Items in this return"),
    }


def label_instructions(language: str) -> tuple[str, ...]:
    _ = translations(language).gettext
    return (
        _("Pack the items securely, with their accessories and original packaging if you have it."),
        _("Stick the label on the outside of the parcel and hand it to any carrier."),
        _("Keep the receipt of the carrier until your refund arrives."),
    )


def render_label(data: LabelData) -> bytes:
    case, order = data.case, data.order
    request = LabelRequest(
        rma=case.rma,
        store_name=data.store_name,
        order_number=case.order_number,
        address_name=str(data.address.get("name", "")),
        address_lines=tuple(str(line) for line in data.address.get("lines", [])),
        items=tuple(LabelItem(ln.sku, ln.title, ln.quantity) for ln in case.lines),
        texts=label_texts(case.language),
        instructions=label_instructions(case.language),
        sender_lines=(order.buyer_name,) if order.buyer_name else (),
    )
    return _LABELS.label(request).pdf


def label_response(data: LabelData) -> Response:
    pdf = render_label(data)
    name = f"return-label-{data.case.rma}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
