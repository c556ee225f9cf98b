"""Store rule conditions in CEL (Common Expression Language), run by the Rust `cel` bindings.

CEL is a small, side-effect-free, always-terminating language made for exactly this: policy
conditions evaluated many times against one set of facts (Kubernetes, Envoy and Firebase use
it). The facts are bound once per decision; each condition then costs well under a
microsecond (see bench/bench_decisions.py).
"""

from __future__ import annotations

import re
from typing import Any

import cel

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.policy.document import RuleFailed

_MACRO_VARIABLE = re.compile(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,")


class CelCondition:
    __slots__ = ("_program", "names", "source")

    def __init__(self, source: str, program: Any) -> None:
        self.source = source
        self._program = program
        bound = set(_MACRO_VARIABLE.findall(source))
        self.names = frozenset(str(v) for v in program.variables()) - bound

    def matches(self, facts: object) -> bool:
        try:
            result = self._program.execute(facts)
        except KeyError as exc:
            raise RuleFailed(f"there is no field {exc}") from None
        except Exception as exc:  # the bindings raise plain TypeError/RuntimeError/...
            raise RuleFailed(_first_line(exc)) from None
        if not isinstance(result, bool):
            raise RuleFailed(f"the condition gave {type(result).__name__}, not true or false")
        return result


class CelLanguage:
    name = "cel"

    def compile(self, source: str) -> CelCondition:
        try:
            program = cel.compile(source)
        except Exception as exc:
            raise ValidationFailed(_first_line(exc), code="invalid_rule") from None
        return CelCondition(source, program)

    def bind(self, facts: dict[str, Any]) -> object:
        context = cel.Context()
        for name, value in facts.items():
            context.add_variable(name, value)
        return context


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
