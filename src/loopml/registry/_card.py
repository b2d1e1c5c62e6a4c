"""Model cards: Markdown and HTML summaries of a version for people."""

from __future__ import annotations

import json
from html import escape

from loopml.registry._client import RegistryClient
from loopml.registry._lineage import lineage


def model_card_markdown(registry: RegistryClient, name: str, version: int) -> str:
    """A Markdown model card: purpose, data, params, metrics, signature, lineage, approvals."""
    mv = registry.get_model_version(name, version)
    model = registry.get_registered_model(name)
    lin = lineage(registry, name, version)
    run = lin.run
    out = [f"# Model card: {name} version {version}", ""]
    out += ["## Purpose", "", model.description or mv.description or "_No description._", ""]
    out += [
        "## Status",
        "",
        f"- status: {mv.status.value}; stage: {mv.stage.value}; "
        f"aliases: {', '.join(mv.aliases) or '-'}",
        f"- flavor: {mv.flavor}; registered by {mv.user_id or '-'}",
        "",
    ]
    out += ["## Training data", ""]
    if lin.datasets:
        out += ["| dataset | context | rows | digest |", "|---|---|---:|---|"]
        out += [
            f"| {d['name']} | {d['context'] or '-'} | {d['num_rows']} | `{d['digest'][:16]}` |"
            for d in lin.datasets
        ]
    else:
        out.append("_No dataset inputs were logged with the run._")
    out.append("")
    if run is not None:
        out += ["## Parameters", "", "| param | value |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in sorted(run.data.params.items())]
        out.append("")
    out += ["## Metrics", "", "| metric | value |", "|---|---:|"]
    out += [f"| {k} | {v:.6g} |" for k, v in sorted(mv.metrics.items())]
    out.append("")
    if mv.signature:
        sig = json.loads(mv.signature)
        out += ["## Signature", "", "| input | type | nullable | range / categories |"]
        out.append("|---|---|---|---|")
        for col in sig["inputs"]:
            extra = (
                ", ".join(col["categories"][:8])
                if col.get("categories")
                else f"{col.get('minimum')} … {col.get('maximum')}"
            )
            out.append(f"| {col['name']} | {col['type']} | {col['nullable']} | {extra} |")
        outputs = ", ".join(f"{c['name']} ({c['type']})" for c in sig.get("outputs", []))
        out += ["", f"Outputs: {outputs or '-'}", ""]
    out += ["## Lineage", "", "```", lin.render(), "```", ""]
    approvals = registry.store.list_approvals(name, version)
    out += ["## Approvals", ""]
    out += [f"- {a.approver}: {a.reason}" for a in approvals] or ["_None._"]
    out += [
        "",
        "## Limitations",
        "",
        mv.tags.get("limitations") or model.tags.get("limitations") or "_Not stated._",
        "",
    ]
    return "\n".join(out)


def model_card_html(registry: RegistryClient, name: str, version: int) -> str:
    """The same card as a self-contained HTML page."""
    markdown = model_card_markdown(registry, name, version)
    body = []
    in_table = in_pre = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            body.append("</pre>" if in_pre else "<pre>")
            in_pre = not in_pre
            continue
        if in_pre:
            body.append(escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-:"):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("- "):
            body.append(f"<p>• {escape(line[2:])}</p>")
        elif line:
            body.append(f"<p>{escape(line)}</p>")
    if in_table:
        body.append("</table>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.25rem .6rem;text-align:left}pre{background:#f5f5f5;padding:.8rem}"
    )
    title = escape(f"{name} v{version}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )
