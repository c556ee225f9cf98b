"""The demo policy as the browser tests use it: without its keep-the-item rules (a tee is
worth less than its return costs, so it would be kept, and there would be no parcel)."""

from __future__ import annotations

from typing import Any

from returndesk.bootstrap import Container
from returndesk.demo import demo_policy_document
from returndesk.services.policies import save_policy
from returndesk.services.principal import SYSTEM


def save_demo_policy(container: Container, **changes: Any) -> dict[str, Any]:
    """Save it as the active policy, with `changes` (top-level tables) on top; the document."""
    document = demo_policy_document()
    document["economics"] = {**document["economics"], "returnless_below": {}, "return_cost": {}}
    document.update(changes)
    save_policy(container.uow, container.clock, SYSTEM, None, document)
    return document
