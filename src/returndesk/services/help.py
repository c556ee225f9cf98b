"""Product help articles: edited by staff, searched by the assistant across languages.

A question finds the passage (an article's section) nearest in meaning among the articles
about the buyer's products; the e5 embeddings are multilingual, so a Portuguese question finds
the English article when no Portuguese one exists. The article is then shown in the buyer's
language when it has that translation, and the answer says when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from returndesk.domain.access import Permission
from returndesk.domain.errors import NotFound
from returndesk.domain.help import HelpArticle, check_article, passages
from returndesk.domain.ids import new_id
from returndesk.services.ports import Clock, Embedder, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store

# Cosine similarity (e5, query vs passage) below which a passage does not answer the question:
# on the demo articles, answers scored 0.85-0.92 and unrelated questions up to 0.83.
MIN_SIMILARITY = 0.845
# For an article about the product the buyer named (on their order) the bar is lower: answers
# across languages score lower (0.82-0.85 on the demo), and the product is already known.
MIN_SIMILARITY_OWN_PRODUCT = 0.80


@dataclass(frozen=True, slots=True)
class ArticleInput:
    slug: str
    language: str
    title: str
    body: str
    skus: tuple[str, ...] = ()
    store_slug: str | None = None


def save_article(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    embedder: Embedder,
    principal: Principal,
    command: ArticleInput,
) -> HelpArticle:
    """Create or replace the article in that language; its passages are embedded here."""
    principal.require(Permission.help_write)
    skus = tuple(dict.fromkeys(s.strip() for s in command.skus if s.strip()))
    check_article(command.slug, command.language, command.title, command.body, skus)
    found = passages(command.title.strip(), command.body)
    vectors = embedder.embed_passages(
        [f"{command.title.strip()}. {p.heading}\n{p.text}" for p in found]
    )
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, command.store_slug)
        article = HelpArticle(
            id=new_id(),
            store_id=store.id,
            slug=command.slug,
            language=command.language,
            title=command.title.strip(),
            body=command.body.strip(),
            skus=skus,
            updated_at=clock(),
            updated_by=principal.name or principal.id,
            passages=found,
        )
        blobs = [np.asarray(v, dtype=np.float32).tobytes() for v in vectors]
        uow.help.save(article, blobs)
        uow.commit()
        return article


def delete_article(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    slug: str,
    language: str,
    store_slug: str | None = None,
) -> None:
    principal.require(Permission.help_write)
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, store_slug)
        if not uow.help.delete(store.id, slug, language):
            raise NotFound("no such article", code="article_not_found")
        uow.commit()


def list_articles(
    uow_factory: UnitOfWorkFactory, principal: Principal, store_slug: str | None = None
) -> list[HelpArticle]:
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        return uow.help.for_store(store.id)


def read_article(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    slug: str,
    language: str,
    store_slug: str | None = None,
) -> tuple[HelpArticle, list[str]]:
    """An article (anyone may read help) and the languages it exists in."""
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        siblings = [a for a in uow.help.for_store(store.id) if a.slug == slug]
    chosen = next((a for a in siblings if a.language == language), None)
    if chosen is None:
        raise NotFound("no such article", code="article_not_found")
    return chosen, [a.language for a in siblings]


@dataclass(frozen=True, slots=True)
class HelpAnswer:
    slug: str
    language: str  # the article's language: the buyer's when it exists in it
    title: str
    heading: str
    text: str
    similarity: float
    in_buyer_language: bool


def search_help(
    uow_factory: UnitOfWorkFactory,
    embedder: Embedder,
    store_id: str,
    question: str,
    language: str,
    skus: tuple[str, ...] | None,
    *,
    product_named: bool = False,
) -> HelpAnswer | None:
    """skus: the products the question may be about (None: any). product_named: the buyer
    named one of them (or bought only one), so an article about it needs a lower score."""
    with uow_factory() as uow:
        hits = uow.help.passages(store_id, skus)
    if not hits:
        return None
    query = np.asarray(embedder.embed([question]), dtype=np.float32)[0]
    scores = np.stack([h.vector for h in hits]) @ query
    best = int(np.argmax(scores))
    own_product = product_named and bool(set(hits[best].skus) & set(skus or ()))
    if float(scores[best]) < (MIN_SIMILARITY_OWN_PRODUCT if own_product else MIN_SIMILARITY):
        return None
    slug = hits[best].slug
    # The same article in the buyer's language if it exists, else in English (the store's
    # usual source language), else as found: its best passage in that language.
    chosen, score = hits[best], float(scores[best])
    for wanted in (language, "en"):
        same = [
            (float(sc), h)
            for sc, h in zip(scores, hits, strict=True)
            if h.slug == slug and h.language == wanted
        ]
        if same:
            score, chosen = max(same, key=lambda pair: pair[0])
            break
    return HelpAnswer(
        slug=slug,
        language=chosen.language,
        title=chosen.title,
        heading=chosen.passage.heading,
        text=chosen.passage.text,
        similarity=round(score, 4),
        in_buyer_language=chosen.language == language,
    )
