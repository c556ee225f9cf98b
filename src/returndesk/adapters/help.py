"""Help articles and their passage embeddings, in SQL."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.engine import Row

from returndesk.adapters.db.tables import help_articles, help_passages
from returndesk.domain.help import HelpArticle, Passage
from returndesk.services.ports import PassageHit

DIM = 384


def _article(row: Row[Any]) -> HelpArticle:
    return HelpArticle(
        id=row.id,
        store_id=row.store_id,
        slug=row.slug,
        language=row.language,
        title=row.title,
        body=row.body,
        skus=tuple(row.skus or ()),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class SqlHelpRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, store_id: str, slug: str, language: str) -> HelpArticle | None:
        a = help_articles.c
        row = self._conn.execute(
            select(help_articles).where(
                a.store_id == store_id, a.slug == slug, a.language == language
            )
        ).first()
        return _article(row) if row else None

    def for_store(self, store_id: str) -> list[HelpArticle]:
        a = help_articles.c
        rows = self._conn.execute(
            select(help_articles).where(a.store_id == store_id).order_by(a.slug, a.language)
        )
        return [_article(r) for r in rows]

    def save(self, article: HelpArticle, vectors: list[bytes]) -> None:
        """Insert or replace the article (same store, slug, language) and its passages."""
        self.delete(article.store_id, article.slug, article.language)
        self._conn.execute(
            insert(help_articles).values(
                id=article.id,
                store_id=article.store_id,
                slug=article.slug,
                language=article.language,
                title=article.title,
                body=article.body,
                skus=list(article.skus),
                updated_at=article.updated_at,
                updated_by=article.updated_by[:200],
            )
        )
        for passage, vector in zip(article.passages, vectors, strict=True):
            self._conn.execute(
                insert(help_passages).values(
                    article_id=article.id,
                    idx=passage.index,
                    heading=passage.heading[:300],
                    text=passage.text,
                    vector=vector,
                )
            )

    def delete(self, store_id: str, slug: str, language: str) -> bool:
        existing = self.get(store_id, slug, language)
        if existing is None:
            return False
        self._conn.execute(delete(help_passages).where(help_passages.c.article_id == existing.id))
        self._conn.execute(delete(help_articles).where(help_articles.c.id == existing.id))
        return True

    def passages(self, store_id: str, skus: tuple[str, ...] | None) -> list[PassageHit]:
        """Every passage of the store's articles about these products (or about none in
        particular); skus=None: all articles."""
        a, p = help_articles.c, help_passages.c
        rows = self._conn.execute(
            select(a.id, a.slug, a.language, a.title, a.skus, p.idx, p.heading, p.text, p.vector)
            .join(help_passages, p.article_id == a.id)
            .where(a.store_id == store_id)
        )
        hits = []
        for row in rows:
            article_skus = tuple(row.skus or ())
            if skus is not None and article_skus and not set(article_skus) & set(skus):
                continue
            hits.append(
                PassageHit(
                    article_id=row.id,
                    slug=row.slug,
                    language=row.language,
                    title=row.title,
                    skus=article_skus,
                    passage=Passage(row.idx, row.heading, row.text),
                    vector=np.frombuffer(row.vector, dtype=np.float32),
                )
            )
        return hits
