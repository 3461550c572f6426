// The frame of every ops page: its stylesheet, the header with the search box and the links, and
// the pages that only say something (not found, switched off). Every value of every page goes through
// the `html` template, which escapes it; nothing runs in the browser.
import { type Html, html, trusted } from "./html.ts";

export const SUPPORT_PATH = "/support";
export const BULL_BOARD_PATH = "/admin/queues";

const STYLE = trusted(`
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0b5fcc; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--accent); }
header.top { background: #24292f; color: #fff; }
header.top .bar { max-width: 1180px; margin: 0 auto; padding: 10px 24px; display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
header.top a { color: #fff; text-decoration: none; }
header.top .brand { font-weight: 700; font-size: 17px; }
header.top nav { margin-left: auto; font-size: 14px; }
form.search { display: flex; gap: 8px; flex: 1 1 420px; max-width: 800px; }
form.search input.tenant { flex: 0 1 150px; }
form.search input { flex: 1; padding: 7px 10px; border-radius: 6px; border: 1px solid #57606a; font: inherit; }
form.search button { padding: 7px 14px; border-radius: 6px; border: 0; background: #2da44e; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 24px; margin: 8px 0 4px; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
p.lead, .muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; font-weight: 600; color: var(--muted); background: var(--soft); }
th, td { padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr.parked td { background: #fff8e5; }
td.time, td.nowrap { white-space: nowrap; }
table.timeline td.details { width: 34%; }
.svix { font-size: 12px; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 20px; margin: 16px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 13px; font-weight: 600; line-height: 20px; white-space: nowrap; border: 1px solid transparent; }
.state-recorded { background: #eaeef2; color: #424a53; border-color: #d0d7de; }
.state-scheduled, .state-sent { background: #ddf4ff; color: #0550ae; border-color: #b6e3ff; }
.state-delivery_delayed { background: #fff8c5; color: #7d4e00; border-color: #eac54f; }
.state-delivered { background: #dafbe1; color: #116329; border-color: #aceebb; }
.state-canceled { background: #eaeef2; color: #424a53; border-color: #d0d7de; text-decoration: line-through; }
.state-bounced, .state-complained, .state-failed, .state-suppressed { background: #ffebe9; color: #a40e26; border-color: #ffcecb; }
.tag { display: inline-block; padding: 0 7px; margin: 0 4px 4px 0; border-radius: 4px; background: var(--soft); border: 1px solid var(--line); font-size: 13px; }
.tag.parked { background: #fff1c2; border-color: #eac54f; color: #7d4e00; font-weight: 600; }
.tag.invalid { background: #ffebe9; border-color: #ffcecb; color: #a40e26; font-weight: 600; }
tr.invalid td { background: #fff5f5; }
.ok { color: #116329; font-weight: 600; }
.bad { color: #a40e26; font-weight: 600; }
.empty { padding: 28px; border: 1px dashed var(--line); border-radius: 8px; background: var(--soft); color: var(--muted); text-align: center; }
.empty strong { color: var(--ink); display: block; margin-bottom: 4px; font-size: 16px; }
.detail { margin: 0; padding: 0; list-style: none; }
.detail li { overflow-wrap: anywhere; }
.pager { margin-top: 14px; }
.notice { padding: 10px 14px; border-radius: 6px; background: #fff8e5; border: 1px solid #eac54f; margin: 14px 0; }
`);

export function layout(title: string, body: Html, query = "", tenant = ""): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · mailstate support</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top"><div class="bar">
  <a class="brand" href="${SUPPORT_PATH}">mailstate support</a>
  <form class="search" method="get" action="${SUPPORT_PATH}" role="search">
    <input type="search" name="q" value="${query}" aria-label="Search" placeholder="Recipient address, Message-ID, notification id or Resend email id" autocomplete="off">
    <input class="tenant" type="search" name="tenant" value="${tenant}" aria-label="Tenant" placeholder="Tenant (all)" autocomplete="off">
    <button type="submit">Search</button>
  </form>
  <nav><a href="${SUPPORT_PATH}/reputation">Reputation</a> · <a href="${BULL_BOARD_PATH}">Queues (Bull Board)</a></nav>
</div></header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function messagePage(title: string, message: Html | string): Html {
  return layout(
    title,
    html`<h1>${title}</h1><div class="empty">${message}<br><br><a href="${SUPPORT_PATH}">Back to search</a></div>`,
  );
}

/** The ops pages without the layout's links, for when they are switched off. */
export function bareMessagePage(title: string, message: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body><main><h1>${title}</h1><div class="empty">${message}</div></main></body></html>
`;
}
