"""The workdir's small JSON files: append-only JSON-lines logs and files replaced whole.

metrics.jsonl, eval/history.jsonl and config_history.jsonl are appended one record per line
(`append_jsonl`) and read back with a torn last line tolerated (`read_jsonl`: a process
killed while appending leaves half a line). config.json, eval/step_N.json and a truncated
metrics.jsonl are replaced whole (`write_atomically`: a kill leaves the old file, never half
of a new one). Paths may be local or remote (`jaxgan.runtime.storage`).
"""
from __future__ import annotations

import io
import json
from typing import Any, Dict, List

from jaxgan.runtime import storage


def parse_lines(lines: List[str]) -> List[Dict[str, Any]]:
  """JSON records of JSON-lines lines; a torn last line (the process was killed while
  appending it) is dropped, a malformed line elsewhere is an error."""
  lines = [line for line in lines if line.strip()]
  records = []
  for i, line in enumerate(lines):
    try:
      records.append(json.loads(line))
    except json.JSONDecodeError:
      if i == len(lines) - 1 and not line.endswith("\n"):
        break
      raise
  return records


def read_jsonl(path: str) -> List[Dict[str, Any]]:
  """The records of an append-only JSON-lines file, oldest first ([] when there is none)."""
  if not storage.exists(path):
    return []
  return parse_lines(io.StringIO(storage.read_text(path)).readlines())


def append_jsonl(path: str, record: Dict[str, Any]) -> None:
  """Appends `record` (JSON-ready) as one line."""
  storage.append_text(path, json.dumps(record) + "\n")


def write_atomically(path: str, text: str) -> None:
  """Replaces `path` with `text`: written under a temporary name beside it, then renamed."""
  storage.write_atomically(path, text)
