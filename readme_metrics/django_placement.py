"""Whether the Django middleware stands first in ``settings.MIDDLEWARE``; what is said if not."""

from __future__ import annotations

from django.conf import settings

__all__ = ["DJANGO_NOT_FIRST", "MIDDLEWARE_PATH", "django_middlewares_before"]

#: The path README's Django quick start puts first in ``settings.MIDDLEWARE``.
MIDDLEWARE_PATH = "readme_metrics.django.MetricsMiddleware"
#: What the warning says, and README's Troubleshooting row quotes ({} the names).
DJANGO_NOT_FIRST = (
    "readme_metrics: readme_metrics.django.MetricsMiddleware comes after Django's {} in "
    "settings.MIDDLEWARE, so it logs each response as the view gave it, not as the "
    "client got it: an answer those give themselves (CommonMiddleware's APPEND_SLASH "
    "redirect, a 400 for a Host not in ALLOWED_HOSTS, ConditionalGetMiddleware's 304) "
    "is logged as the view's or not at all, and the headers they add are missing from "
    "the logs: put it first, with MIDDLEWARE.insert(0, "
    "\"readme_metrics.django.MetricsMiddleware\") after MIDDLEWARE in settings.py, in "
    "place of the line or list entry that adds it now")


def django_middlewares_before() -> list[str]:
    """The class names of Django's own middlewares that ``settings.MIDDLEWARE`` lists
    before this one. Appended (``MIDDLEWARE.append(...)``, or written last in the list,
    as most middlewares' instructions say), it ran inside them and logged, without a
    word, a 404 for CommonMiddleware's APPEND_SLASH redirect (301) and a 200 with its
    body for ConditionalGetMiddleware's 304, nothing for a Host not in ALLOWED_HOSTS
    (400), and none of SecurityMiddleware's or XFrameOptionsMiddleware's headers.
    Another package's middleware before it may be meant so (not looked at)."""
    try:
        listed = [entry for entry in settings.MIDDLEWARE if isinstance(entry, str)]
    except Exception:  # settings not configured, MIDDLEWARE no list: nothing to say
        return []
    if MIDDLEWARE_PATH not in listed:
        return []  # built by code (a test's chain, a subclass): no place to tell
    return [entry.rpartition(".")[2] for entry in listed[:listed.index(MIDDLEWARE_PATH)]
            if entry.startswith("django.")]

