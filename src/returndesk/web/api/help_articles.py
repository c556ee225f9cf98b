"""Product help articles (the assistant's knowledge base) over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from returndesk.domain.help import HelpArticle
from returndesk.services.help import (
    ArticleInput,
    delete_article,
    list_articles,
    read_article,
    save_article,
)
from returndesk.services.principal import SYSTEM
from returndesk.web.deps import ContainerDep, MaybePrincipal, PrincipalDep
from returndesk.web.schemas import iso

router = APIRouter(prefix="/api/v1/help", tags=["help"])
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
Language = Annotated[str, Path(pattern=r"^(en|es|pt-BR|ja|de|fr|zh)$")]


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    skus: list[str] = Field(default_factory=list, max_length=50)


def article_out(a: HelpArticle, *, body: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "slug": a.slug,
        "language": a.language,
        "title": a.title,
        "skus": list(a.skus),
        "updated_at": iso(a.updated_at),
        "updated_by": a.updated_by,
    }
    if body:
        out["body"] = a.body
    return out


@router.get("/articles")
def articles(principal: MaybePrincipal, container: ContainerDep) -> dict[str, Any]:
    """Every article of the store in every language (help is public)."""
    found = list_articles(container.uow, principal or SYSTEM)
    return {"items": [article_out(a, body=False) for a in found]}


@router.get("/articles/{slug}/{language}")
def article(
    slug: Slug, language: Language, principal: MaybePrincipal, container: ContainerDep
) -> dict[str, Any]:
    found, languages = read_article(container.uow, principal or SYSTEM, slug, language)
    return {**article_out(found), "languages": languages}


@router.put("/articles/{slug}/{language}")
def put_article(
    slug: Slug,
    language: Language,
    body: ArticleIn,
    principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, Any]:
    """Create or replace the article in this language (its passages are re-embedded)."""
    saved = save_article(
        container.uow,
        container.clock,
        container.assistant().embedder_or_fail(),
        principal,
        ArticleInput(slug, language, body.title, body.body, tuple(body.skus)),
    )
    return article_out(saved)


@router.delete("/articles/{slug}/{language}", status_code=204)
def remove_article(
    slug: Slug, language: Language, principal: PrincipalDep, container: ContainerDep
) -> Response:
    delete_article(container.uow, principal, slug, language)
    return Response(status_code=204)
