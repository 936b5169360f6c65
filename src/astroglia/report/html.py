"""A self-contained, one-page HTML report: headings, text, tables and embedded PNG figures."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}
h1{border-bottom:2px solid #446;padding-bottom:.2em}h2{color:#334;margin-top:1.6em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
td,th{border:1px solid #bbc;padding:.3em .7em;text-align:right}th{background:#eef}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
pre{background:#f6f6f8;padding:.7em;overflow-x:auto;font-size:.85em}
.meta{color:#667;font-size:.9em}
"""


@dataclass
class Section:
    """One section of a report.

    Args:
        heading: section title.
        text: paragraphs (plain text; HTML-escaped).
        table: rows as dicts with the same keys (column order from the first row), or None.
        figures: PNG paths, embedded in the page so that the file stands alone.
        code: preformatted text (e.g. a command line or a JSON summary), or None.
    """

    heading: str
    text: list[str] = field(default_factory=list)
    table: list[dict[str, Any]] | None = None
    figures: list[Path | str] = field(default_factory=list)
    code: str | None = None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
        return f"{value:.3e}"
    if value is None:
        return "–"
    if isinstance(value, (list, dict)):
        return html.escape(json.dumps(value))
    return html.escape(str(value))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(path: Path | str) -> str:
    p = Path(path)
    if not p.exists():
        return f"<p class='meta'>(figure {html.escape(p.name)} missing)</p>"
    data = base64.b64encode(p.read_bytes()).decode("ascii")
    return f"<img alt='{html.escape(p.stem)}' src='data:image/png;base64,{data}'>"


def write_html_report(path: str | Path, title: str, sections: list[Section], *, subtitle: str = "") -> Path:
    """Write a standalone HTML page with ``sections`` to ``path`` and return the path."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if subtitle:
        parts.append(f"<p class='meta'>{html.escape(subtitle)}</p>")
    for s in sections:
        parts.append(f"<h2>{html.escape(s.heading)}</h2>")
        parts.extend(f"<p>{html.escape(t)}</p>" for t in s.text)
        if s.table:
            parts.append(_table(s.table))
        parts.extend(_figure(f) for f in s.figures)
        if s.code:
            parts.append(f"<pre>{html.escape(s.code)}</pre>")
    parts.append("</body></html>")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts))
    return out
