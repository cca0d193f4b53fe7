"""Write deploy/metadata.json (Flex Template metadata) from OPTION_SPECS.

Run from the repository root after changing pipelines/options.py:

    python deploy/make_metadata.py

tests/test_deploy_files.py fails when the file and OPTION_SPECS disagree.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from wiredesk.pipelines.options import OPTION_SPECS

_FLAG_REGEX = r"^(true|false)$"


def metadata() -> dict[str, Any]:
    parameters = []
    for spec in OPTION_SPECS:
        required = spec.name == "output"  # feeds or wire_dir: RunConfig checks
        help_text = spec.help
        if spec.action == "store_true":
            help_text += " true or false (default false)."
        elif spec.action == "append":
            help_text += " One value per job launch."
        elif spec.default is not None:
            help_text += f" Default {spec.default}."
        param: dict[str, Any] = {
            "name": spec.dest,
            "label": spec.dest.replace("_", " ").capitalize(),
            "helpText": help_text,
            "isOptional": not required,
        }
        regex = _FLAG_REGEX if spec.action == "store_true" else spec.regex
        if regex:
            param["regexes"] = [regex]
        parameters.append(param)
    return {
        "name": "wiredesk",
        "description": (
            "News ingest: feeds and wires in; deduplicated, enriched, syndication-linked "
            "Parquet partitioned by date and region out. Batch (once=true) or unbounded "
            "streaming (streaming_mode=true)."
        ),
        "parameters": parameters,
    }


def main() -> None:
    path = pathlib.Path(__file__).with_name("metadata.json")
    path.write_text(json.dumps(metadata(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
