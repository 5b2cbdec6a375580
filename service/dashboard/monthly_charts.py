"""The monthly report's charts as SVG images drawn on the server (WeasyPrint embeds them; no script, no CDN).

Each function takes the figures monthly.build() made and returns a standalone SVG document; the text inside is
set in the same CJK font as the page so place names print.
"""
from xml.sax.saxutils import escape

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"
WIDTH = 680
COLOURS = {"new": "#4e79a7", "on_time": "#59a14f", "late": "#f28e2b", "overdue": "#d62728", "rate": "#2f6f9f",
           "grid": "#d0d0d0", "text": "#222222", "muted": "#666666"}


def _svg(height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(label, {chr(34): "&quot;"})}" '
            f'font-family="{FONT}" font-size="11" fill="{COLOURS["text"]}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 11, fill: str | None = None,
          weight: str = "normal") -> str:
    colour = f' fill="{fill}"' if fill else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}"'
            f'{colour}>{escape(str(s))}</text>')


def _legend(x: float, y: float, items: list[tuple[str, str]]) -> list[str]:
    out = []
    for name, colour in items:
        out += [f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>',
                _text(x + 14, y, name, size=10)]
        x += 26 + 11 * len(name)
    return out


def ranking(rows: list[dict], title: str, rate_label: str, overdue_label: str) -> str:
    """Horizontal bars: each place's on-time rate, best first (the ranking's order), its overdue count beside."""
    left, right, bar_h, gap, top = 150, 70, 12, 5, 44
    span = WIDTH - left - right
    height = top + len(rows) * (bar_h + gap) + 24
    body = [_text(0, 16, title, size=14, weight="bold"),
            *_legend(left, 34, [(rate_label, COLOURS["rate"]), (overdue_label, COLOURS["overdue"])])]
    for pct in (0, 25, 50, 75, 100):
        x = left + span * pct / 100
        body += [f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20:.1f}" '
                 f'stroke="{COLOURS["grid"]}" stroke-width="0.6"/>',
                 _text(x, height - 8, f"{pct}%", "middle", 9, COLOURS["muted"])]
    for i, row in enumerate(rows):
        y = top + i * (bar_h + gap)
        name = row["name"] if len(row["name"]) <= 12 else row["name"][:11] + "…"
        body.append(_text(left - 6, y + bar_h - 2, name, "end", 10))
        rate = row["on_time_rate"]
        if rate is None:
            body.append(_text(left + 4, y + bar_h - 2, "—", size=10, fill=COLOURS["muted"]))
        else:
            w = max(span * rate, 0.5)
            body.append(f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{COLOURS["rate"]}"/>')
            if rate > 0.8:  # inside the bar, so it never runs into the overdue count at the right
                body.append(_text(left + w - 4, y + bar_h - 2, f"{rate * 100:.1f}%", "end", 9, "#ffffff"))
            else:
                body.append(_text(left + w + 4, y + bar_h - 2, f"{rate * 100:.1f}%", size=9))
        if row["overdue"]:
            body.append(_text(WIDTH - 4, y + bar_h - 2, f"{overdue_label} {row['overdue']}", "end", 9,
                              COLOURS["overdue"]))
    return _svg(height, body, title)


def trend(months: list[dict], title: str, names: dict[str, str]) -> str:
    """Bars of new hazards per month, and beside each, stacked, the rectified on time, rectified late and still
    overdue among them."""
    left, right, top, bottom = 44, 10, 48, 30
    height = 260
    span_w, span_h = WIDTH - left - right, height - top - bottom
    peak = max([m["new"] for m in months] + [1])
    step = _nice(peak)
    ceiling = step * -(-peak // step)
    body = [_text(0, 16, title, size=14, weight="bold"),
            *_legend(left, 36, [(names["new"], COLOURS["new"]), (names["on_time"], COLOURS["on_time"]),
                                (names["late"], COLOURS["late"]), (names["overdue"], COLOURS["overdue"])])]
    for k in range(0, ceiling + 1, step):
        y = top + span_h - span_h * k / ceiling
        body += [f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="{COLOURS["grid"]}" '
                 'stroke-width="0.6"/>', _text(left - 4, y + 3, f"{k:,}", "end", 9, COLOURS["muted"])]
    slot = span_w / max(len(months), 1)
    bar = slot * 0.36
    for i, m in enumerate(months):
        x = left + i * slot + slot * 0.1
        h = span_h * m["new"] / ceiling
        body.append(f'<rect x="{x:.1f}" y="{top + span_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS["new"]}"/>')
        stacked = [("on_time", m["rectified_on_time"]), ("late", m["rectified_late"]), ("overdue", m["overdue"])]
        base = 0.0
        for key, value in stacked:
            h = span_h * value / ceiling
            body.append(f'<rect x="{x + bar + 2:.1f}" y="{top + span_h - base - h:.1f}" width="{bar:.1f}" '
                        f'height="{h:.1f}" fill="{COLOURS[key]}"/>')
            base += h
        body.append(_text(x + bar, top + span_h + 14, m["month"][2:], "middle", 9))
        if m["new"]:
            body.append(_text(x + bar / 2, top + span_h - span_h * m["new"] / ceiling - 3, f"{m['new']:,}",
                              "middle", 8, COLOURS["muted"]))
    return _svg(height, body, title)


def _nice(peak: int) -> int:
    """A round grid step giving about four lines up to peak."""
    raw = max(peak / 4, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for m in (1, 2, 5, 10):
        if raw <= m * magnitude:
            return int(m * magnitude)
    return int(10 * magnitude)
