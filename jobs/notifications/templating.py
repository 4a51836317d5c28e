"""Render an event's message for one channel and locale from Jinja2 templates.

Layout: ``templates/<locale>/<event>/<channel>.txt.j2`` holds the plain parts as blocks
(``subject`` and ``text`` for email, ``title``/``body``/``url`` for push, ...);
``<channel>.html.j2`` is the HTML part (email only). Files ending ``.html.j2`` are autoescaped.

* A locale falls back ``pt-BR`` → ``pt`` → the default locale, per file.
* Undefined variables are errors (``StrictUndefined``): a missing variable is a
  ``TemplateError`` naming it, never an empty hole in a sent message.
* Per-recipient values are not rendered here: ``{{ recipient.name }}`` renders the placeholder
  ``%recipient.name%`` (Mailgun's recipient-variables syntax), which the sender fills in per
  recipient. So one render serves every recipient of a locale.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from odyssey_workers.errors import PermanentError

TEMPLATES_ROOT = Path(__file__).parent / "templates"

CHANNEL_PARTS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "text"),  # + the html file
    "push": ("title", "body", "url"),
    "sms": ("text",),
    "discord": ("title", "description", "url"),
}
TEMPLATED_CHANNELS = frozenset(CHANNEL_PARTS)
RECIPIENT_FIELDS = ("name", "unsubscribe_url")
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3}


class TemplateError(PermanentError):
    """A template is missing, or it needs a variable the data does not have."""


@dataclass(frozen=True)
class RenderedMessage:
    event: str
    channel: str
    locale: str  # the locale asked for
    parts: dict[str, str]


def money(amount_minor: int, currency: str) -> str:
    """``999, "EUR"`` → ``9.99 EUR`` (integer minor units, exponent per ISO 4217)."""
    exponent = CURRENCY_EXPONENTS.get(currency.upper(), 2)
    amount = Decimal(int(amount_minor)).scaleb(-exponent)
    return f"{amount:,.{exponent}f} {currency.upper()}"


class _Recipient:
    """``recipient.<field>`` renders a placeholder filled in per recipient at send time."""

    def __getattr__(self, name: str) -> Markup:
        if name not in RECIPIENT_FIELDS:
            raise AttributeError(name)
        return Markup(f"%recipient.{name}%")  # noqa: S704 - a fixed placeholder, no outside text


@functools.cache
def environment(root: Path = TEMPLATES_ROOT) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["money"] = money
    return env


def normalize_locale(locale: str | None) -> str:
    """``pt_br`` → ``pt-BR``; empty → ``""``."""
    if not locale:
        return ""
    language, _, region = locale.replace("_", "-").partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()


def locale_chain(locale: str | None, default: str) -> list[str]:
    chain: list[str] = []
    normalized = normalize_locale(locale)
    for candidate in (normalized, normalized.partition("-")[0], normalize_locale(default)):
        if candidate and candidate not in chain:
            chain.append(candidate)
    return chain


def _find(env: jinja2.Environment, event: str, filename: str, chain: list[str]) -> jinja2.Template:
    names = [f"{locale}/{event}/{filename}" for locale in chain]
    try:
        return env.select_template(names)
    except jinja2.TemplatesNotFound:
        raise TemplateError(f"no template for {event}/{filename} (looked for: {', '.join(names)})") from None


def render(
    event: str,
    channel: str,
    locale: str | None,
    data: Mapping[str, Any],
    *,
    default_locale: str = "en",
    root: Path = TEMPLATES_ROOT,
) -> RenderedMessage:
    """Render every part of ``event``'s ``channel`` message in ``locale`` (with fallback)."""
    if channel not in TEMPLATED_CHANNELS:
        raise TemplateError(
            f"channel {channel!r} has no templates (templated: {', '.join(sorted(TEMPLATED_CHANNELS))})"
        )
    env = environment(root)
    chain = locale_chain(locale, default_locale)
    context = {**data, "recipient": _Recipient(), "event": event}
    template = _find(env, event, f"{channel}.txt.j2", chain)
    parts: dict[str, str] = {}
    try:
        ctx = template.new_context(context)
        for part in CHANNEL_PARTS[channel]:
            block = template.blocks.get(part)
            if block is None:
                raise TemplateError(f"template {template.name} has no block {part!r}")
            parts[part] = "".join(block(ctx)).strip()
        if channel == "email":
            parts["html"] = _find(env, event, "email.html.j2", chain).render(context)
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {event}/{channel} ({chain[0]}): missing variable: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {exc.name} line {exc.lineno}: {exc.message}") from None
    return RenderedMessage(event=event, channel=channel, locale=chain[0], parts=parts)
