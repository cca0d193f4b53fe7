"""``wiredesk demo``: the whole pipeline on a bundled sample, offline.

Four fake outlets start on loopback addresses (127.0.0.11-14) and serve real
pages and the feeds that list them: RSS 2.0, Atom, JSON Feed, an ill-formed
feed and a feed that is gone. One outlet republishes a wire story in its own
page chrome (the project's seed case), one lists a page twice with other
tracking parameters, and one links into the cloud metadata address
169.254.169.254. The demo then runs the very same ``wiredesk run --once`` a
user would, allowing exactly the four outlet hosts (never all private
addresses, so the metadata link is refused without a packet sent), and shows
what landed.
"""

from __future__ import annotations

import gzip
import html
import json
import os
import tempfile
from importlib import resources
from typing import Any

from wiredesk.loopback import LoopbackOutlet, Route

__all__ = ["SampleOutlets", "run_demo"]


def _sample_bytes(name: str) -> bytes:
    return resources.files("wiredesk.sample").joinpath(name).read_bytes()


class SampleOutlets:
    """The sample's outlets, started on loopback with their real addresses filled in."""

    def __init__(self) -> None:
        self.manifest: dict[str, Any] = json.loads(_sample_bytes("sample.json"))
        self.outlets = {
            name: LoopbackOutlet(host=info["host"])
            for name, info in self.manifest["outlets"].items()
        }

    def _fill(self, text: str) -> str:
        for name, outlet in self.outlets.items():
            text = text.replace(f"{{outlet:{name}}}", outlet.base_url)
        return text

    def start(self) -> SampleOutlets:
        for outlet in self.outlets.values():
            outlet.start()
        for route, info in self.manifest["pages"].items():
            name, path = route.split("/", 1)
            body = gzip.decompress(_sample_bytes(info["file"]))
            body = self._fill(body.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape"
            )
            self.outlets[name].set_route("/" + path, Route(body=body))
        for route, info in self.manifest["feeds"].items():
            name, path = route.split("/", 1)
            feed = self._fill(_sample_bytes(info["file"]).decode("utf-8", "surrogateescape"))
            self.outlets[name].set_route(
                "/" + path,
                Route(
                    body=feed.encode("utf-8", "surrogateescape"), content_type=info["content_type"]
                ),
            )
        return self

    def stop(self) -> None:
        for outlet in self.outlets.values():
            outlet.stop()

    def __enter__(self) -> SampleOutlets:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def opml(self) -> str:
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<opml version="2.0"><head><title>wiredesk demo</title></head><body>',
        ]
        for feed in self.manifest["opml"]:
            info = self.manifest["outlets"][feed["outlet"]]
            url = self.outlets[feed["outlet"]].url(feed["path"])
            lines.append(
                f'<outline type="rss" text="{html.escape(info["title"])}" '
                f'xmlUrl="{html.escape(url)}" country="{info["country"]}"/>'
            )
        lines.append("</body></opml>")
        return "\n".join(lines)

    def hosts(self) -> list[str]:
        return [outlet.host for outlet in self.outlets.values()]

    def run_argv(self, *, folder: str, output: str) -> list[str]:
        """``wiredesk run`` arguments for one pass over the sample into ``output``; the
        feed list is written into ``folder``."""
        feeds = os.path.join(folder, "feeds.opml")
        with open(feeds, "w", encoding="utf-8") as handle:
            handle.write(self.opml())
        argv = ["run", "--feeds", feeds, "--output", output, "--once"]
        for host in self.hosts():
            argv += ["--allow-host", host]
        return argv


def _show(output: str) -> None:
    from wiredesk.query import run_query

    print("\nRows per region and date (articles):")
    print(
        run_query(
            output=output,
            sql=(
                "SELECT region, date, count(*) AS stories FROM articles GROUP BY ALL ORDER BY region, date"
            ),
        )
    )
    print("\nRepublications linked to their story (duplicates):")
    print(
        run_query(
            output=output,
            sql=(
                "SELECT d.source, left(d.title, 50) AS title, round(d.similarity, 2) AS similarity, "
                "a.source AS canonical_source FROM duplicates d JOIN articles a USING (story_id) ORDER BY 1"
            ),
        )
    )
    print("\nRejects by stage and reason:")
    print(
        run_query(
            output=output,
            sql=(
                "SELECT stage, reason, count(*) AS n FROM rejects GROUP BY ALL ORDER BY n DESC, reason"
            ),
        )
    )
    print("\nTry:")
    print(
        f'  wiredesk query {output} "SELECT region, agency, count(*) FROM articles GROUP BY ALL ORDER BY 3 DESC"'
    )
    print(
        f"  duckdb -c \"SELECT region, count(*) FROM read_parquet('{output}/articles/**/*.parquet', "
        'hive_partitioning=true) GROUP BY 1"'
    )


def run_demo(*, output: str) -> int:
    from wiredesk.cli import main

    output = os.path.abspath(output)
    with SampleOutlets() as sample, tempfile.TemporaryDirectory(prefix="wiredesk-demo-") as tmp:
        argv = sample.run_argv(folder=tmp, output=output)
        print(f"wiredesk demo: {len(sample.outlets)} outlets on loopback, output in {output}")
        code = main(argv)
    if code == 0:
        _show(output)
        from wiredesk.report import write_report

        print(f"\nReport (open it in a browser): {write_report(output=output)}")
    return code
