import { describe, expect, it } from "vitest";
import { escapeHtml, html, isWebUrl, trusted } from "./html.ts";

describe("html", () => {
  it("escapes every interpolated value, in text and in quoted attributes", () => {
    const hostile = `"><script>alert('x')</script>&`;
    expect(html`<a title="${hostile}">${hostile}</a>`.value).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
  });

  it("nests Html unescaped, joins arrays, renders null, undefined and false as nothing, numbers as text", () => {
    const items = ["<a>", "b"].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.value).toBe("<ul><li>&lt;a&gt;</li><li>b</li></ul>0");
  });

  it("lets markup in only through trusted()", () => {
    expect(html`${trusted("<b>x</b>")}${"<b>x</b>"}`.value).toBe("<b>x</b>&lt;b&gt;x&lt;/b&gt;");
    expect(escapeHtml("a & b")).toBe("a &amp; b");
  });

  it("only http(s) links are web links", () => {
    expect(isWebUrl("https://acme.test/a?b=1")).toBe(true);
    expect(isWebUrl("http://acme.test")).toBe(true);
    for (const link of ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "/relative", "not a url"]) {
      expect(isWebUrl(link), link).toBe(false);
    }
  });
});
