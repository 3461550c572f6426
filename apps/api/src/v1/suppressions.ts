// /v1/suppressions: read, add by hand, remove, and check many addresses before a send.
import { type Db, suppressions } from "@mailstate/db";
import { Router } from "express";
import { AppError } from "../http/problems.ts";
import { addSuppressionBody, checkSuppressionsBody, emailParams } from "./schemas.ts";
import { suppressionJson, suppressionStatuses } from "./serialize.ts";
import { parseRequest } from "./validate.ts";

export function suppressionRoutes({ db }: { db: Db }): Router {
  const router = Router();

  // Before /:email, or "check" would be read as an address (it fails validation anyway, but as a 400).
  router.post("/suppressions/check", async (req, res) => {
    const { emails } = parseRequest(checkSuppressionsBody, req.body, "body");
    const statuses = suppressionStatuses(emails, await suppressions.findMany(db, [...new Set(emails)]));
    res.json({ data: statuses, suppressed: statuses.filter((status) => status.suppressed) });
  });

  router.post("/suppressions", async (req, res) => {
    const { email, note } = parseRequest(addSuppressionBody, req.body, "body");
    const row = { email, reason: "manual" as const, metadata: note ? { note } : null };
    let added = await suppressions.add(db, row);
    if (!added && !(await suppressions.find(db, email))) {
      // Only an expired row holds the address: it no longer counts, so a fresh one replaces it.
      await suppressions.remove(db, email);
      added = await suppressions.add(db, row);
    }
    const current = await suppressions.find(db, email);
    // The address stays out of the message: it would land in the error log.
    if (!current) throw new Error("the suppression vanished while being added (removed concurrently?)");
    // Already suppressed: one row per address and the first reason wins, so answer that row.
    res.status(added ? 201 : 200).json(suppressionJson(current));
  });

  router.get("/suppressions/:email", async (req, res) => {
    const { email } = parseRequest(emailParams, req.params, "params");
    const row = await suppressions.find(db, email);
    if (!row) throw new AppError("not_found", `${email} is not suppressed`);
    res.json(suppressionJson(row));
  });

  router.delete("/suppressions/:email", async (req, res) => {
    const { email } = parseRequest(emailParams, req.params, "params");
    if (!(await suppressions.remove(db, email))) throw new AppError("not_found", `${email} is not suppressed`);
    res.status(204).end();
  });

  return router;
}
