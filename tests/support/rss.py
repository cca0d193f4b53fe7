"""An RSS 2.0 feed route for a loopback outlet, listing pages of that outlet."""

from __future__ import annotations

from wiredesk.loopback import LoopbackOutlet, Route

__all__ = ["rss_route"]


def rss_route(outlet: LoopbackOutlet, paths: list[str], *, title: str) -> Route:
    """A feed titled ``title`` with one item per path (link and guid: the page's URL)."""
    items = "".join(
        f"<item><title>Item {p}</title><link>{outlet.url(p)}</link><guid>{outlet.url(p)}</guid></item>"
        for p in paths
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{outlet.base_url}/</link>{items}</channel></rss>"
    )
    return Route(body=body.encode(), content_type="application/rss+xml")
