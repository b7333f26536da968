"""Chat messages: validation at the boundary and the text a router scores.

RouteLLM's routers were trained on single prompts, so by default the router sees only the
last user message (as the reference does). `route_on="window"` scores the recent
conversation instead, truncated deliberately: newest messages first, whole messages only,
up to `max_chars`; the last user message is always kept (its head, if alone it is too long).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from routellm_py.controller.model_string import RoutingError

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
RouteOn = Literal["last_user", "window"]


def _content_text(content: Any, where: str) -> str:
    """The text of a message's content: a string, or the text parts of a content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise RoutingError(
                    f"{where}.content[{j}] must be an object with a 'type', got {part!r:.60}",
                    param=f"{where}.content",
                )
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    raise RoutingError(
                        f"{where}.content[{j}].text must be a string", param=f"{where}.content"
                    )
                texts.append(part["text"])
        return "\n".join(texts)
    raise RoutingError(
        f"{where}.content must be a string or a list of content parts, "
        f"got {type(content).__name__}",
        param=f"{where}.content",
    )


def validate_messages(messages: Any) -> list[dict[str, Any]]:
    """Check an OpenAI `messages` list; return it unchanged (as a list) if valid."""
    if not isinstance(messages, Sequence) or isinstance(messages, str | bytes):
        raise RoutingError(
            f"messages must be a list of {{role, content}} objects, got {type(messages).__name__}",
            param="messages",
        )
    if not messages:
        raise RoutingError("messages is empty; send at least one user message", param="messages")
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise RoutingError(f"{where} must be an object, got {type(m).__name__}", param=where)
        if m.get("role") not in ROLES:
            raise RoutingError(
                f"{where}.role must be one of {', '.join(ROLES)}, got {m.get('role')!r}",
                param=f"{where}.role",
            )
        if "content" not in m and not (m.get("tool_calls") or m.get("function_call")):
            raise RoutingError(f"{where} has no content", param=f"{where}.content")
        _content_text(m.get("content"), where)
    return list(messages)


def prompt_chars(messages: Sequence[dict[str, Any]]) -> int:
    """Characters of text in all the (validated) messages: the prompt's length."""
    return sum(
        len(_content_text(m.get("content"), f"messages[{i}]")) for i, m in enumerate(messages)
    )


def routing_text(
    messages: Sequence[dict[str, Any]], route_on: RouteOn = "last_user", max_chars: int = 4000
) -> str:
    """The prompt the router scores (see module docstring); messages must be validated."""
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        raise RoutingError("messages hold no user message to route on", param="messages")
    last = users[-1]
    text = _content_text(messages[last].get("content"), f"messages[{last}]")
    if not text.strip():
        raise RoutingError(
            f"messages[{last}] (the last user message) has no text to route on",
            param=f"messages[{last}].content",
        )
    if route_on == "last_user":
        return text[:max_chars]
    if route_on != "window":
        raise ValueError(f"route_on must be 'last_user' or 'window', got {route_on!r}")
    parts = [f"user: {text}"[:max_chars]]
    used = len(parts[0])
    for i in range(last - 1, -1, -1):
        body = _content_text(messages[i].get("content"), f"messages[{i}]")
        if not body.strip():
            continue
        line = f"{messages[i]['role']}: {body}"
        if used + len(line) + 2 > max_chars:
            break
        parts.append(line)
        used += len(line) + 2
    return "\n\n".join(reversed(parts))


def prompt_to_messages(prompt_or_messages: str | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A bare prompt becomes one user message; a messages list is validated."""
    if isinstance(prompt_or_messages, str):
        return [{"role": "user", "content": prompt_or_messages}]
    return validate_messages(prompt_or_messages)
