// /v1/suppressions: list, read, add by hand, remove, and check many addresses before a send. Each
// works on the lists that SUPPRESSION_SCOPE and the key's tenant make apply (see @mailstate/db's
// suppressions); every manual change is written to the audit log with the key that made it.
import { auditLog, type Db, listOf, type SuppressionView, suppressions } from "@mailstate/db";
import { type Queues, queueSuppressionMirror } from "@mailstate/queue";
import type { Logger, SuppressionScope } from "@mailstate/runtime";
import { type Response, Router } from "express";
import { AppError } from "../http/problems.ts";
import { actingTenant, actorOf, principalOf } from "./principal.ts";
import {
  addSuppressionBody,
  checkSuppressionsBody,
  emailParams,
  listSuppressionsQuery,
  tenantQuery,
} from "./schemas/requests.ts";
import { auditEntryJson, suppressionJson, suppressionStatuses } from "./serialize.ts";
import { parseRequest } from "./validate.ts";

/** Mirror a change of the null list on Resend's list (RESEND_SUPPRESSION_SYNC=both). */
export type Mirror = (change: "add" | "remove", email: string) => void;

/**
 * Queues the call to Resend and answers at once: a failure to queue is logged, never the request's.
 * Resend's list is account-wide, so only the null list (every tenant's) is mirrored.
 */
export function mirrorOn(queues: Queues, logger: Logger): Mirror {
  return (change, email) =>
    void queueSuppressionMirror(queues, change, email).catch((error: Error) =>
      logger.warn({ change, err: error.message }, "could not queue the change for Resend's suppression list"),
    );
}

export function suppressionRoutes({
  db,
  scope,
  mirror = null,
}: {
  db: Db;
  scope: SuppressionScope;
  mirror?: Mirror | null;
}): Router {
  const router = Router();

  /** The sends the request speaks for: the key's tenant, or the one an admin key names (or none). */
  const viewOf = (res: Response, tenant: string | undefined): SuppressionView => ({
    scope,
    tenant: actingTenant(principalOf(res), tenant),
  });

  router.get("/suppressions", async (req, res) => {
    const query = parseRequest(listSuppressionsQuery, req.query, "query");
    const view = viewOf(res, query.tenant);
    // An admin key naming no tenant sees every list; anyone else the lists that apply to their sends.
    const everyList = principalOf(res).tenant === null && query.tenant === undefined;
    const rows = await suppressions.list(db, {
      ...(everyList ? {} : { view }),
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    res.json({
      data: page.map(suppressionJson),
      nextCursor: rows.length > query.limit && last ? String(last.id) : null,
    });
  });

  // Before /:email, or "check" would be read as an address (it fails validation anyway, but as a 400).
  router.post("/suppressions/check", async (req, res) => {
    const { emails, tenant } = parseRequest(checkSuppressionsBody, req.body, "body");
    const view = viewOf(res, tenant);
    const statuses = suppressionStatuses(emails, await suppressions.findMany(db, [...new Set(emails)], view));
    res.json({ data: statuses, suppressed: statuses.filter((status) => status.suppressed) });
  });

  router.post("/suppressions", async (req, res) => {
    const { email, note, tenant } = parseRequest(addSuppressionBody, req.body, "body");
    const list = listOf(viewOf(res, tenant));
    const actor = actorOf(principalOf(res));
    const { added, current } = await db.$transaction(async (tx) => {
      const done = await suppressions.add(tx, {
        email,
        tenant: list,
        reason: "manual",
        metadata: note ? { note } : null,
      });
      if (done)
        await auditLog.record(tx, {
          action: "suppression.added",
          actor,
          tenant: list,
          email,
          detail: { note: note ?? null },
        });
      return { added: done, current: await suppressions.findOnList(tx, email, list) };
    });
    // The address stays out of the message: it would land in the error log.
    if (!current) throw new Error("the suppression vanished while being added (removed concurrently?)");
    if (added && list === null) mirror?.("add", email);
    // Already on the list: one row per address and list, and the first reason wins, so answer that row.
    res.status(added ? 201 : 200).json(suppressionJson(current));
  });

  router.get("/suppressions/:email", async (req, res) => {
    const { email } = parseRequest(emailParams, req.params, "params");
    const view = viewOf(res, parseRequest(tenantQuery, req.query, "query").tenant);
    const [row, changes] = await Promise.all([
      suppressions.find(db, email, view),
      auditLog.forAddresses(db, [email], view),
    ]);
    const history = changes.map(auditEntryJson);
    // Not suppressed: still say who took it off, when someone did.
    if (!row) throw new AppError("not_found", `${email} is not suppressed`, history.length > 0 ? { history } : {});
    res.json({ ...suppressionJson(row), history });
  });

  router.delete("/suppressions/:email", async (req, res) => {
    const { email } = parseRequest(emailParams, req.params, "params");
    const view = viewOf(res, parseRequest(tenantQuery, req.query, "query").tenant);
    const list = listOf(view);
    const actor = actorOf(principalOf(res));
    const removed = await db.$transaction(async (tx) => {
      const done = await suppressions.remove(tx, email, view);
      if (done) await auditLog.record(tx, { action: "suppression.removed", actor, tenant: list, email });
      return done;
    });
    if (removed) {
      if (list === null) mirror?.("remove", email);
      return void res.status(204).end();
    }
    // In tenant scope a tenant's key sees the list every tenant obeys, but that list is not its to edit.
    if (list !== null && (await suppressions.find(db, email, view))) {
      throw new AppError(
        "tenant_forbidden",
        `${email} is on the list every tenant obeys, not on tenant ${list}'s: an admin key naming no tenant removes it`,
      );
    }
    throw new AppError("not_found", `${email} is not suppressed`);
  });

  return router;
}
