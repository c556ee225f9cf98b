"""Product help pages: the article as buyers read it (portal), and the console's editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.errors import DomainError
from returndesk.domain.orders import SUPPORTED_LANGUAGES
from returndesk.services.help import (
    ArticleInput,
    delete_article,
    list_articles,
    read_article,
    save_article,
)
from returndesk.services.principal import SYSTEM
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    staff_form,
    to_login,
)
from returndesk.web.pages.forms import field
from returndesk.web.pages.portal import _page, _remember_language
from returndesk.web.pages.rendering import csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter()
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
Language = Annotated[str, Path(pattern=r"^(en|es|pt-BR|ja|de|fr|zh)$")]
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML switched off: an article cannot inject markup."""
    return Markup(_markdown.render(text))  # noqa: S704 - html=False escapes every tag


@router.get("/portal/help/{slug}/{language}")
def help_article_page(request: Request, slug: Slug, language: Language) -> Response:
    container = container_of(request)
    page = _page(request, language)
    try:
        article, languages = read_article(container.uow, SYSTEM, slug, language)
    except DomainError:
        return page.render(request, "portal/help_missing.html", status_code=404)
    response = page.render(
        request,
        "portal/help.html",
        article=article,
        body=render_markdown(article.body),
        languages=languages,
    )
    return _remember_language(request, response)


# --- console ---------------------------------------------------------------------------


@router.get("/console/help")
def help_list_page(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, _ = staff
    container = container_of(request)
    articles = list_articles(container.uow, principal)
    by_slug: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for article in articles:
        by_slug.setdefault(article.slug, []).append(article.language)
        if article.language == "en" or article.slug not in titles:
            titles[article.slug] = article.title
    response = console_page(request).render(
        request,
        "console/help.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        articles=articles,
        by_slug=by_slug,
        titles=titles,
        can_edit=has_permission(principal.role, Permission.help_write),
        languages=SUPPORTED_LANGUAGES,
    )
    return remember_language(request, response)


def _editor(
    request: Request,
    slug: str,
    language: str,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    if values is None:
        values = {"slug": slug, "language": language, "title": "", "body": "", "skus": ""}
        if slug:
            try:
                article, _ = read_article(container.uow, principal, slug, language)
                values = {
                    "slug": slug,
                    "language": language,
                    "title": article.title,
                    "body": article.body,
                    "skus": ", ".join(article.skus),
                }
            except DomainError:
                pass
    response = console_page(request).render(
        request,
        "console/help_edit.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        values=values,
        languages=SUPPORTED_LANGUAGES,
        csrf=csrf_token(container.settings.secret_key, token),
        can_edit=has_permission(principal.role, Permission.help_write),
        error=error,
    )
    return remember_language(request, response)


@router.get("/console/help/edit")
def help_edit_page(request: Request) -> Response:
    slug = request.query_params.get("slug", "")[:80]
    language = request.query_params.get("language", "en")
    return _editor(request, slug, language if language in SUPPORTED_LANGUAGES else "en")


@router.post("/console/help/save")
async def help_save(request: Request) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    principal, container, form = posted.principal, posted.container, posted.form
    values = {
        "slug": field(form, "slug", 80),
        "language": field(form, "language", 8),
        "title": field(form, "title", 201),
        "body": field(form, "body", 20_001),
        "skus": field(form, "skus", 4000),
    }
    if not posted.csrf_ok:
        return _editor(request, "", "en", "generic", values, 400)
    skus = tuple(s.strip() for s in values["skus"].replace("\n", ",").split(",") if s.strip())
    try:
        save_article(
            container.uow,
            container.clock,
            container.assistant().embedder_or_fail(),
            principal,
            ArticleInput(values["slug"], values["language"], values["title"], values["body"], skus),
        )
    except DomainError as exc:
        return _editor(request, "", "en", exc.code, values, 422)
    return RedirectResponse(
        f"/console/help/edit?slug={values['slug']}&language={values['language']}&saved=1",
        status_code=303,
    )


@router.post("/console/help/delete")
async def help_delete(request: Request) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    principal, container, form = posted.principal, posted.container, posted.form
    slug, language = field(form, "slug", 80), field(form, "language", 8)
    if not posted.csrf_ok:
        return _editor(request, slug, language, "generic", None, 400)
    try:
        delete_article(container.uow, principal, slug, language)
    except DomainError as exc:
        return _editor(request, slug, language, exc.code, None, 422)
    return RedirectResponse("/console/help", status_code=303)
