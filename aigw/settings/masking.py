"""Secrets are shown masked wherever aigw shows settings: keys, auth headers, credentials in URLs."""

from __future__ import annotations

from typing import Any

SECRET_FIELDS = frozenset({"api_key"})
_SECRET_WORDS = ("auth", "key", "token", "secret", "password", "cookie", "signature")


def mask(secret: str) -> str:
    """Enough to tell two keys apart, never enough to use one: short secrets are hidden entirely."""
    if len(secret) < 20:
        return "****"
    return f"{secret[:3]}…{secret[-4:]}"


def is_secret_name(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_FIELDS or any(word in lowered for word in _SECRET_WORDS)


_CREDENTIAL_SCHEMES = ("bearer ", "basic ", "token ", "key ", "apikey ", "digest ")


def looks_like_secret(value: Any) -> bool:
    """A value that reads as a credential whatever its name: `Bearer ...`, `Basic ...`, or one long
    unbroken token mixing letters and digits (an API key, a JWT)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text.lower().startswith(_CREDENTIAL_SCHEMES):
        return True
    token = text.replace("-", "").replace("_", "").replace(".", "")
    return (len(text) >= 24 and " " not in text and "/" not in text and token.isalnum()
            and any(c.isdigit() for c in token) and any(c.isalpha() for c in token))


def secret_header(name: Any, value: Any) -> bool:
    return is_secret_name(str(name)) or looks_like_secret(value)


def url_has_secret(url: Any) -> bool:
    return isinstance(url, str) and mask_url(url) != url


def mask_url(url: str) -> str:
    """Hide a password in the userinfo and secret-looking query parameters."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "****@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_param(k, v) for k, v in pairs):
            query = urlencode([(k, mask(v) if _secret_param(k, v) else v) for k, v in pairs],
                              safe="*…")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_param(name: str, value: str) -> bool:
    # sig: an Azure SAS signature; code: an Azure Functions key.
    return is_secret_name(name) or name.lower() in ("sig", "code") or looks_like_secret(value)


def masked(dotted: str, value: Any) -> Any:
    """The value of a dotted setting as it may be shown."""
    if value is None:
        return None
    leaf = dotted.rsplit(".", 1)[-1]
    if leaf in SECRET_FIELDS:
        return mask(str(value))
    if leaf == "headers" and isinstance(value, dict):
        return {h: (mask(str(v)) if secret_header(h, v) else v) for h, v in value.items()}
    if len(parts := dotted.split(".")) >= 2 and parts[-2] == "headers" and secret_header(leaf, value):
        return mask(str(value))
    if isinstance(value, str) and (leaf == "base_url" or "://" in value):
        return mask_url(value)
    if isinstance(value, dict):
        return {k: masked(f"{dotted}.{k}", v) for k, v in value.items()}
    return value


def contains_secret(value: Any) -> bool:
    """True when a table about to be written holds a key (`{ api_key = "..." }`), a credential
    header, or a base URL carrying a password or a key."""
    if not isinstance(value, dict):
        return False
    for key, inner in value.items():
        name = str(key).lower()
        if name in SECRET_FIELDS or (name == "headers" and isinstance(inner, dict)
                                     and any(secret_header(h, v) for h, v in inner.items())):
            return True
        if name == "base_url" and url_has_secret(inner):
            return True
        if contains_secret(inner):
            return True
    return False
