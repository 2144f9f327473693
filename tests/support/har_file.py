"""The HAR file reader: the logs behind a collector's HAR file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.har_check import har_validator


def har_file_logs(path: Any) -> list[dict[str, Any]]:
    """The log objects behind a collector's HAR file, rebuilt from each entry's ``_readme``.

    The file must be one valid HAR 1.2 document (checked against the schema here); each
    rebuilt log can then go through :func:`assert_valid_log`.
    """
    from readme_metrics.har import CREATOR

    document = json.loads(Path(path).read_text(encoding="utf-8"))
    errors = list(har_validator().iter_errors(document))
    assert not errors, f"{path} is not valid HAR 1.2: {[e.message for e in errors[:3]]}"
    logs = []
    for entry in document["log"]["entries"]:
        meta = dict(entry["_readme"])
        har_entry = {key: value for key, value in entry.items() if key != "_readme"}
        logs.append({**meta, "request": {"log": {
            "version": "1.2", "creator": dict(CREATOR), "entries": [har_entry],
        }}})
    return logs
