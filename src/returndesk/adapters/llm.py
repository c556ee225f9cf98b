"""An OpenAI-compatible Chat Completions endpoint (OpenAI, Azure-compatible gateways, vLLM,
Ollama, LM Studio...), through the official `openai` client with a configurable base URL.
Answers are streamed and put back together here (text and tool calls)."""

from __future__ import annotations

import json
from typing import Any, cast

from returndesk.services.ports import ModelAnswer, ToolCall


class OpenAiCompatibleChat:
    def __init__(self, base_url: str, model: str, api_key: str, timeout: float) -> None:
        from openai import OpenAI

        self.model = model
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
        )

    def chat(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> ModelAnswer:
        """One streamed completion; raises on any transport or protocol failure."""
        extra: dict[str, Any] = {"tools": tools, "tool_choice": "auto"} if tools else {}
        stream: Any = self._client.chat.completions.create(
            model=self.model,
            messages=cast(Any, messages),
            stream=True,
            temperature=0.2,
            **extra,
        )
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        for chunk in stream:
            for choice in getattr(chunk, "choices", None) or ():
                delta = choice.delta
                if delta is None:
                    continue
                if delta.content:
                    text.append(delta.content)
                for call in delta.tool_calls or ():
                    slot = calls.setdefault(call.index, {"name": "", "arguments": ""})
                    if call.function is not None:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
        tool_calls = []
        for _, slot in sorted(calls.items()):
            try:
                arguments = json.loads(slot["arguments"] or "{}")
            except ValueError:
                arguments = {}
            tool_calls.append(
                ToolCall(slot["name"], arguments if isinstance(arguments, dict) else {})
            )
        return ModelAnswer("".join(text), tuple(tool_calls))
