"""The demo's shipping step: ship the batch's pallets to the demo customer and write the
shipping file in EPCIS 1.2 XML (DSCSA), 2.0 XML and 2.0 JSON-LD, each validated."""

from __future__ import annotations

from collections.abc import Callable

from epcis.shipping import RenderedShipment, record_shipment, render_shipment
from epcis.writers import FORMATS
from serialtrace.config import DemoConfig
from serialtrace.settings import Home


def demo_shipping(
    home: Home, cfg: DemoConfig, work_order_id: str, say: Callable[[str], None]
) -> RenderedShipment:
    shipment = record_shipment(
        home,
        work_order_id,
        cfg.customer.gln,
        po_number=f"PO-{work_order_id}",
    )
    rendered = render_shipment(home, shipment.shipment_id, FORMATS)
    say(
        f"      shipment {shipment.shipment_id}: {len(shipment.containers)} container(s), "
        f"{shipment.units:,} units to {cfg.customer.gln}; EPCIS "
        + ", ".join(d.format for d in rendered.documents)
        + " (all valid)"
    )
    return rendered


__all__ = ["demo_shipping"]
