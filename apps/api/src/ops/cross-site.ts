// Against cross-site request forgery on the ops pages: basic auth is sent by the browser with any
// request to this origin, so a write must come from this origin. And no page of theirs is framed.
import type { RequestHandler } from "express";
import { sendProblem } from "../http/problems.ts";

const READS = new Set(["GET", "HEAD"]);
/**
 * `same-site` is refused too: a sibling subdomain (another app, user content) is not this origin,
 * and Bull Board and the support pages only ever write from their own pages (`same-origin`).
 */
const REFUSED_SITES = new Set(["cross-site", "same-site"]);

function isOwnOrigin(origin: string, own: string): boolean {
  try {
    return new URL(origin).origin === new URL(own).origin;
  } catch {
    return false; // `null` (sandboxed frames, some redirects) or garbage
  }
}

/**
 * A write (anything but GET and HEAD) with `Sec-Fetch-Site: cross-site|same-site`, or with an
 * `Origin` other than this server's own (the request's protocol and Host, which honour
 * TRUST_PROXY), answers 403. curl and scripts send neither header, and pass.
 */
export const refuseCrossSiteWrites: RequestHandler = (req, res, next) => {
  if (READS.has(req.method)) return next();
  const site = req.get("sec-fetch-site")?.toLowerCase();
  if (site && REFUSED_SITES.has(site)) {
    return sendProblem(res, "cross_site_request", `a write from another site (Sec-Fetch-Site: ${site}) is refused`);
  }
  const origin = req.get("origin");
  if (origin !== undefined && !isOwnOrigin(origin, `${req.protocol}://${req.host}`)) {
    return sendProblem(res, "cross_site_request", "a write from another origin is refused");
  }
  next();
};

/** On every ops answer, sign-in pages and errors included: never framed, never sniffed. */
export const opsSecurityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
  });
  next();
};
