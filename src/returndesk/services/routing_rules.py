"""A store's routing rules: read them (staff), change the ordered list (supervisors, admins).

The list is saved whole, as a policy document is: adding, removing and moving a rule all read
the saved list, change it and write it back in one transaction. Routing sees a change made in
this process at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from returndesk.domain.access import Permission
from returndesk.domain.routing_rules import RoutingRule, check_rules
from returndesk.services.ports import Clock, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store
from returndesk.services.work import forget_roster


@dataclass(frozen=True, slots=True)
class RuleSet:
    store_id: str
    rules: list[RoutingRule]
    team_names: dict[str, str]  # team id -> name, for showing the rules


def routing_rules(
    uow_factory: UnitOfWorkFactory, principal: Principal, store_slug: str | None = None
) -> RuleSet:
    principal.require(Permission.team_read)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        teams = {team.id: team.name for team in uow.teams.for_store(store.id)}
        return RuleSet(store.id, uow.teams.routing_rules(store.id), teams)


def save_routing_rules(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    rules: list[RoutingRule],
    store_slug: str | None = None,
) -> RuleSet:
    """Replace the store's rules with this ordered list (empty: only the built-in routing)."""
    return edit_routing_rules(uow_factory, clock, principal, lambda _saved: rules, store_slug)


def edit_routing_rules(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    edit: Callable[[list[RoutingRule]], list[RoutingRule]],
    store_slug: str | None = None,
) -> RuleSet:
    """Change the saved list (add one, remove one, move one) and save it, in one transaction:
    two people editing at once never lose each other's change."""
    principal.require(Permission.team_write)
    now: datetime = clock()
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, store_slug)
        teams = {team.id: team.name for team in uow.teams.for_store(store.id)}
        rules = edit(uow.teams.routing_rules(store.id))
        check_rules(rules, teams)
        uow.teams.save_routing_rules(store.id, rules, now, principal.name[:200])
        uow.commit()
    forget_roster(store.id)
    return RuleSet(store.id, list(rules), teams)
