"""A report's table of likely mislabels: the rows whose neighbours in the original space
disagree with their label, most doubtful first (:class:`projector.suspects.Mislabels`).

One row per suspect: its row and id, its label, the label its neighbours suggest, how many of
its labelled neighbours carry it ("9 of 10"), the share that disagree, and a preview (the
row's thumbnail, inlined, and the start of its text). Every value from the data is escaped
here, so a label such as ``<img src=x onerror=...>`` reads as text in the saved page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projector.explore.html import escape, truncate

if TYPE_CHECKING:
    from projector.explore.store import DataStore
    from projector.suspects import Mislabels

__all__ = ["mislabels_html", "TEXT_CHARS", "THUMB_PX"]

TEXT_CHARS = 160  # of a row's text in the preview cell: enough to recognise it, short enough to scan
THUMB_PX = 48
_STYLE = (
    "<style>.projector-mislabels td,.projector-mislabels th{padding:2px 10px;text-align:left;"
    "vertical-align:top;border-bottom:1px solid #eee}.projector-mislabels img{image-rendering:pixelated;max-width:none}</style>"
)


def mislabels_html(store: "DataStore", found: "Mislabels", column: str, limit: int | None = 20, title: str | None = None) -> str:
    """The table of ``found``'s top ``limit`` suspects (all with None) of label ``column``,
    sorted by the share of disagreeing neighbours; a sentence instead when there are none."""
    from projector.explore.links import InlineLinks

    records = found.table(limit)
    total = found.labels.shape[0]
    heading = title or f"Likely mislabels of {column}"
    shown = f"the {len(records)} most doubtful" if len(records) < found.count else "all"
    summary = (
        f"{found.count:,} of {total:,} rows: at least {found.threshold:.0%} of their labelled neighbours "
        f"(of k = {found.k} in the original space) carry another label; {shown}, most doubtful first"
    )
    caption = f"<caption style='text-align:left'><b>{escape(heading)}</b><br><span style='color:#555'>{escape(summary)}</span></caption>"
    if not records:
        return f'<div class="projector-mislabels"><b>{escape(heading)}</b>: no row has {found.threshold:.0%} or more of its neighbours disagreeing.</div>'
    links = InlineLinks(store)
    head = "".join(f"<th>{escape(name)}</th>" for name in ("row", "id", column, "neighbours suggest", "neighbours", "disagree", "preview"))
    body = []
    for entry in records:
        row = entry["row"]
        record = store.rows.record(row, text_chars=TEXT_CHARS)
        count = int(found.neighbor_count[row])
        cells = (
            str(row), record["id"], entry["label"], entry["neighbor_label"], f"{count} of {entry['neighbors']}",
            f"{entry['other_share']:.0%}",
        )
        body.append(
            f'<tr class="projector-mislabel" data-row="{row}" title="{escape(entry["sentence"])}">'
            + "".join(f"<td>{escape(cell)}</td>" for cell in cells)
            + f"<td>{_preview(links, row, record)}</td></tr>"
        )
    return (
        f'{_STYLE}<table class="projector-mislabels" style="border-collapse:collapse;font-size:13px">'
        f"{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _preview(links, row: int, record: dict) -> str:
    """The row's first picture (inlined) and the start of its text, escaped."""
    parts = []
    if record["images"]:
        src = links.thumb(row, record["images"][0], THUMB_PX * 2)
        parts.append(f'<img src="{escape(src)}" width="{THUMB_PX}" height="{THUMB_PX}" alt="">')
    if record["text"]:
        parts.append(escape(truncate(record["text"], TEXT_CHARS)))
    return " ".join(parts)
