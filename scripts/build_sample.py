"""Rebuild ``wiredesk/sample/`` (the offline demo) from a corpus folder.

Run by a maintainer, never at run time: ``python scripts/build_sample.py
--corpus CORPUS``. It copies a handful of real pages (Zyte's
article-extraction-benchmark, MIT) and the seed story, and writes the feeds
that list them as templates whose ``{outlet:NAME}`` markers the demo replaces
with its loopback servers' addresses.

CORPUS holds, under these names (the sources are in wiredesk/sample/LICENSE-NOTE.md):

* ``extraction/article-extraction-benchmark/``: ``html/*.html.gz`` and
  ``ground-truth.json`` of https://github.com/scrapinghub/article-extraction-benchmark
  (commit 4a3bc979f76c0df73cb95fe272e2fc1b96f9f010, MIT);
* ``feeds/feedparser/illformed/rss_incomplete_cdata.xml`` from feedparser's tests,
  https://github.com/kurtmckee/feedparser (commit a22c5521cbb109871f1a2318948581901bd47e26,
  BSD-2-Clause), at ``tests/illformed/rss_incomplete_cdata.xml``;
* ``seed/reuters-via-japan-news.txt``: the page text of the project's seed case, a Reuters
  story (SEOUL, 23 October 2024) as The Japan News republished it.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import shutil
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "wiredesk" / "sample"

# page id prefix -> (outlet, path, title, published, country attribute of the feed)
PAGES = {
    "wire": [
        ("82b6d780c7", "/ap/sondland-faces-questions"),
        ("e7994d5500", "/ap/uk-tories-under-fire"),
        ("aec5deeaad", "/ap/seven-key-questions"),
        ("5caf91b8a4", "/ap/hayward-stabbing"),
        ("a6968f427c", "/ap/black-female-business-owners"),
    ],
    "globe": [
        ("57d46c9d75", "/markets/asian-shares-soft"),
        ("5a822960e9", "/world/hitler-house-police-station"),
        ("b37be3535e", "/science/snooze-cruise"),
        ("0d46122928", "/sport/davis-cup-opener"),
        ("d1c57d7821", "/space/lunar-landers"),
    ],
    "daily": [
        ("42aad16bde", "/impact/commercial-moon-shot"),
        ("c7e39ac49f", "/europe/sweden-assange"),
        ("dc7ccccc1f", "/news/sweden-drops-investigation"),
        ("0ec95c7261", "/ent/8576"),
        ("39d5c43beb", "/business/phase-one-deal"),
    ],
}


def _page_title(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    start = text.lower().find("<title")
    if start < 0:
        return "Untitled"
    start = text.find(">", start) + 1
    end = text.lower().find("</title>", start)
    return html.unescape(" ".join(text[start:end].split()))[:200] or "Untitled"


def _seed_pages(seed: str) -> dict[str, str]:
    """The seed as two pages: the agency's own copy and the republisher's, chrome and all."""
    lines = [line for line in seed.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "(Reuters)" in line)
    end = next(i for i, line in enumerate(lines) if line.startswith('"News Services"'))
    body = lines[start:end]
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in body)
    wire = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>North Korea's Kim visits missile bases, calls U.S. nuclear arsenal a threat</title>"
        "<link rel='canonical' href='{outlet:wire}/reuters/kim-missile-bases'>"
        "<meta property='og:site_name' content='Wire Desk Agency'>"
        "<meta name='author' content='Reuters'>"
        "<meta property='article:published_time' content='2024-10-23T03:30:00Z'></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav></header>"
        "<article><h1>North Korea's Kim visits missile bases, calls U.S. nuclear arsenal a threat</h1>"
        f"{paragraphs}<p>Reporting by Hyonhee Shin; Editing by Ed Davies</p></article>"
        "<footer>All quotes delayed a minimum of 15 minutes.</footer></body></html>"
    )
    caption, stamp = lines[0], lines[1]
    tail = lines[end + 1 :]
    popular = "".join(f"<li>{html.escape(t)}</li>" for t in tail if t not in ("-",))
    republished = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>N. Korea's Kim Visits Missile Bases, Calls U.S. Nuclear Capabilities Growing Threat"
        " - The Japan News</title>"
        "<meta property='og:site_name' content='The Japan News'>"
        "<meta property='article:published_time' content='2024-10-23T04:01:00Z'></head><body>"
        "<header><a href='/'>The Japan News</a></header><main><article>"
        "<h1>N. Korea's Kim Visits Missile Bases, Calls U.S. Nuclear Capabilities Growing Threat</h1>"
        f"<figure><figcaption>{html.escape(caption)}</figcaption></figure>"
        f"<p class='timestamp'>{html.escape(stamp)}</p>{paragraphs}"
        "<p class='credit'>\"News Services\"</p></article>"
        f"<aside><h2>POPULAR ARTICLE</h2><ul>{popular}</ul></aside></main></body></html>"
    )
    return {
        "wire/reuters/kim-missile-bases": wire,
        "jn/world/asia-pacific/20241023-kim": republished,
    }


def _rss(title: str, link: str, items: list[dict[str, str]]) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{html.escape(title)}</title><link>{link}</link><ttl>15</ttl>",
        "<description>wiredesk demo feed</description>",
    ]
    for item in items:
        out.append(
            "<item>"
            f"<title>{html.escape(item['title'])}</title>"
            f"<link>{html.escape(item['link'])}</link>"
            f'<guid isPermaLink="false">{html.escape(item["guid"])}</guid>'
            f"<pubDate>{item['rfc822']}</pubDate>"
            "</item>"
        )
    out.append("</channel></rss>")
    return "\n".join(out)


def _atom(title: str, link: str, items: list[dict[str, str]]) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{html.escape(title)}</title><id>{link}/</id>",
        f'<link href="{link}/"/><updated>2019-11-20T12:00:00Z</updated>',
    ]
    for item in items:
        out.append(
            "<entry>"
            f"<title>{html.escape(item['title'])}</title>"
            f'<link rel="alternate" href="{html.escape(item["link"])}"/>'
            f"<id>{html.escape(item['guid'])}</id>"
            f"<updated>{item['iso']}</updated><published>{item['iso']}</published>"
            "<author><name>Desk Staff</name></author>"
            "</entry>"
        )
    out.append("</feed>")
    return "\n".join(out)


def _json_feed(title: str, link: str, items: list[dict[str, str]]) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": link + "/",
            "feed_url": link + "/feed.json",
            "items": [
                {
                    "id": item["guid"],
                    "url": item["link"],
                    "title": item["title"],
                    "date_published": item["iso"],
                }
                for item in items
            ],
        },
        indent=1,
        ensure_ascii=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True, help="the corpus folder (see the docstring)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    aeb = corpus / "extraction" / "article-extraction-benchmark"
    truth = json.loads((aeb / "ground-truth.json").read_text())

    if SAMPLE.exists():
        shutil.rmtree(SAMPLE)
    (SAMPLE / "pages").mkdir(parents=True)
    (SAMPLE / "__init__.py").write_text('"""The bundled demo sample (data only)."""\n')

    manifest: dict[str, object] = {"outlets": {}, "pages": {}, "feeds": {}}
    items_by_outlet: dict[str, list[dict[str, str]]] = {}
    day = 18
    for outlet, pages in PAGES.items():
        items = []
        for n, (prefix, path) in enumerate(pages):
            key = next(k for k in truth if k.startswith(prefix))
            raw = gzip.decompress((aeb / "html" / f"{key}.html.gz").read_bytes())
            name = f"{outlet}{path.replace('/', '_')}.html.gz"
            (SAMPLE / "pages" / name).write_bytes(gzip.compress(raw, mtime=0))
            manifest["pages"][f"{outlet}{path}"] = {
                "file": f"pages/{name}",
                "origin": truth[key]["url"],
            }
            hour = 6 + n
            items.append(
                {
                    "title": _page_title(raw),
                    "link": f"{{outlet:{outlet}}}{path}?utm_source=rss&utm_medium=feed",
                    "guid": f"{outlet}-{prefix}",
                    "rfc822": f"Wed, {day} Nov 2019 {hour:02d}:15:00 GMT",
                    "iso": f"2019-11-{day}T{hour:02d}:15:00Z",
                }
            )
        items_by_outlet[outlet] = items
        day += 1

    seed = (corpus / "seed" / "reuters-via-japan-news.txt").read_text()
    for route, page in _seed_pages(seed).items():
        outlet, path = route.split("/", 1)
        name = route.replace("/", "_") + ".html.gz"
        (SAMPLE / "pages" / name).write_bytes(gzip.compress(page.encode("utf-8"), mtime=0))
        manifest["pages"][f"{outlet}/{path}"] = {"file": f"pages/{name}", "origin": "seed"}
    items_by_outlet["wire"].append(
        {
            "title": "North Korea's Kim visits missile bases, calls U.S. nuclear arsenal a threat",
            "link": "{outlet:wire}/reuters/kim-missile-bases",
            "guid": "wire-reuters-kim",
            "rfc822": "Wed, 23 Oct 2024 03:30:00 GMT",
            "iso": "2024-10-23T03:30:00Z",
        }
    )
    jn_items = [
        {
            "title": "N. Korea's Kim Visits Missile Bases, Calls U.S. Nuclear Capabilities Growing Threat",
            "link": "{outlet:jn}/world/asia-pacific/20241023-kim",
            "guid": "jn-20241023-kim",
            "rfc822": "Wed, 23 Oct 2024 04:01:00 GMT",
            "iso": "2024-10-23T04:01:00Z",
        },
        # The same wire page listed again, with other tracking parameters: fetched once.
        dict(
            items_by_outlet["wire"][0],
            link=items_by_outlet["wire"][0]["link"].replace("utm_source=rss", "utm_source=partner"),
        ),
        # A link into the cloud metadata service: refused by the address guard.
        {
            "title": "Internal page",
            "link": "http://169.254.169.254/latest/meta-data/",
            "guid": "jn-internal",
            "rfc822": "Wed, 23 Oct 2024 05:00:00 GMT",
            "iso": "2024-10-23T05:00:00Z",
        },
        # A page that is gone.
        {
            "title": "Removed story",
            "link": "{outlet:jn}/world/removed-story",
            "guid": "jn-removed",
            "rfc822": "Wed, 23 Oct 2024 06:00:00 GMT",
            "iso": "2024-10-23T06:00:00Z",
        },
    ]
    feeds = {
        "wire/rss.xml": (
            "application/rss+xml",
            _rss("Wire Desk Agency", "{outlet:wire}", items_by_outlet["wire"]),
        ),
        "globe/atom.xml": (
            "application/atom+xml",
            _atom("The Globe Desk", "{outlet:globe}", items_by_outlet["globe"]),
        ),
        "daily/feed.json": (
            "application/feed+json",
            _json_feed("The Daily Desk", "{outlet:daily}", items_by_outlet["daily"]),
        ),
        "jn/rss.xml": ("application/rss+xml", _rss("The Japan News", "{outlet:jn}", jn_items)),
    }
    (SAMPLE / "feeds").mkdir()
    for route, (ctype, body) in feeds.items():
        name = route.replace("/", "_")
        (SAMPLE / "feeds" / name).write_text(body, encoding="utf-8")
        manifest["feeds"][route] = {"file": f"feeds/{name}", "content_type": ctype}
    # A real ill-formed feed from feedparser's corpus: recovered or rejected, never a crash.
    broken = corpus / "feeds" / "feedparser" / "illformed" / "rss_incomplete_cdata.xml"
    shutil.copy(broken, SAMPLE / "feeds" / "broken_rss.xml")
    manifest["feeds"]["jn/broken.xml"] = {
        "file": "feeds/broken_rss.xml",
        "content_type": "application/rss+xml",
    }

    manifest["outlets"] = {
        "wire": {"title": "Wire Desk Agency", "host": "127.0.0.11", "country": "US"},
        "globe": {"title": "The Globe Desk", "host": "127.0.0.12", "country": "GB"},
        "daily": {"title": "The Daily Desk", "host": "127.0.0.13", "country": "QA"},
        "jn": {"title": "The Japan News", "host": "127.0.0.14", "country": "JP"},
    }
    manifest["opml"] = [
        {"outlet": "wire", "path": "/rss.xml"},
        {"outlet": "globe", "path": "/atom.xml"},
        {"outlet": "daily", "path": "/feed.json"},
        {"outlet": "jn", "path": "/rss.xml"},
        {"outlet": "jn", "path": "/broken.xml"},
        {"outlet": "jn", "path": "/gone.xml"},
    ]
    (SAMPLE / "sample.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    (SAMPLE / "LICENSE-NOTE.md").write_text(
        "# Licences of the bundled demo sample\n\n"
        "- `pages/wire_*`, `pages/globe_*`, `pages/daily_*`: real pages from Zyte's "
        "article-extraction-benchmark (https://github.com/scrapinghub/article-extraction-benchmark, "
        "commit 4a3bc979f76c0df73cb95fe272e2fc1b96f9f010), MIT licence, Copyright (c) 2020 Scrapinghub. "
        "Each page's original address is in `sample.json`.\n"
        "- `pages/wire_reuters_*`, `pages/jn_*`: built around the text of a Reuters story (SEOUL, "
        "23 October 2024) as The Japan News republished it, quoted as a reference example "
        "(the project's seed case).\n"
        "- `feeds/broken_rss.xml`: feedparser's test corpus (https://github.com/kurtmckee/feedparser, "
        "commit a22c5521cbb109871f1a2318948581901bd47e26), BSD-2-Clause.\n"
        "- The other feeds are written by `scripts/build_sample.py` and list the pages above.\n"
    )


if __name__ == "__main__":
    main()
