"""Secrets out of what Rasd prints: URLs may carry credentials
(``https://user:password@host``), and a URL ends up in logs, errors, dead
letters and health output."""
from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit


def _host_part(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` removed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=_host_part(parts.netloc)))


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without its ``user:password@``, and the user and password
    (None when absent), percent-decoded as a client would send them."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    user = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    return without_userinfo(url), user, password


def redact_url(url: str) -> str:
    """``url`` fit for a log line: a password in it becomes ``***`` (the user
    name stays, it tells which account was used)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo = parts.netloc.rpartition("@")[0]
    user, has_password, _ = userinfo.partition(":")
    shown = f"{user}:***" if has_password else user
    return urlunsplit(parts._replace(netloc=f"{shown}@{_host_part(parts.netloc)}"))
