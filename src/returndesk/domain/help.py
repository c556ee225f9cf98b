"""Product help articles (the knowledge base): Markdown per product and language, cut into
passages at their `## ` headings so an answer can quote the one section that helps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.orders import SUPPORTED_LANGUAGES

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_SKU = re.compile(r"^\S{1,100}$")
MAX_BODY = 20_000
MAX_PASSAGE = 1_200


@dataclass(frozen=True, slots=True)
class Passage:
    index: int
    heading: str
    text: str


@dataclass(slots=True)
class HelpArticle:
    id: str
    store_id: str
    slug: str  # the article; its translations share it
    language: str
    title: str
    body: str  # Markdown
    skus: tuple[str, ...]  # the products it is about; empty: any product
    updated_at: datetime
    updated_by: str
    passages: list[Passage] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_article(self.slug, self.language, self.title, self.body, self.skus)


def check_article(slug: str, language: str, title: str, body: str, skus: tuple[str, ...]) -> None:
    if not _SLUG.match(slug):
        raise ValidationFailed(
            "a slug is 1-80 lowercase letters, digits and dashes", code="invalid_slug"
        )
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationFailed(
            f"{language!r} is not a supported language", code="unsupported_language"
        )
    if not title.strip() or len(title) > 200:
        raise ValidationFailed("a title is 1-200 characters", code="invalid_title")
    if not body.strip() or len(body) > MAX_BODY:
        raise ValidationFailed(f"the text is 1-{MAX_BODY} characters", code="invalid_body")
    if len(skus) > 50 or any(not _SKU.match(s) for s in skus):
        raise ValidationFailed("skus are up to 50 product codes", code="invalid_sku")


def passages(title: str, body: str) -> list[Passage]:
    """One passage per `## ` section (long ones cut); the introduction is a passage only when
    the article has no sections (an answer should quote the steps, not the preamble)."""
    parts: list[tuple[str, list[str]]] = [(title, [])]
    for line in body.splitlines():
        matched = re.match(r"^#{2,3}\s+(.*\S)\s*$", line)
        if matched:
            parts.append((matched.group(1), []))
        elif not re.match(r"^#\s", line):
            parts[-1][1].append(line)
    if any("\n".join(lines).strip() for _, lines in parts[1:]):
        parts = parts[1:]
    found: list[Passage] = []
    for heading, lines in parts:
        text = "\n".join(lines).strip()
        if not text:
            continue
        found.append(Passage(len(found), heading, text[:MAX_PASSAGE]))
    return found


def parse_front_matter(source: str) -> tuple[dict[str, str], str]:
    """`---\\nkey: value\\n---\\nbody` (the shipped demo articles)."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n(.*)$", source, re.DOTALL)
    if not match:
        raise ValidationFailed("no front matter", code="invalid_body")
    fields = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        if key.strip():
            fields[key.strip()] = value.strip()
    return fields, match.group(2).strip()
