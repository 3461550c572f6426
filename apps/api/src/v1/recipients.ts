// DELETE /v1/recipients/:email: erase an address (a data-subject request). A tenant's key erases
// within its tenant; an admin key everywhere, or within `?tenant=`. The work is @mailstate/db's
// eraseRecipient and @mailstate/queue's eraseJobs, which `mailstate erase` runs too.
import { eraseRecipient, type SqlPool } from "@mailstate/db";
import { eraseJobs, type Queues, type RedisClient } from "@mailstate/queue";
import { Router } from "express";
import { AppError } from "../http/problems.ts";
import { actingTenant, actorOf, principalOf } from "./principal.ts";
import { emailParams, tenantQuery } from "./schemas/requests.ts";
import type { ErasureJson } from "./schemas/responses.ts";
import { parseRequest } from "./validate.ts";

export function recipientRoutes({
  sql,
  queues,
  redis,
  prefix,
}: {
  sql: SqlPool;
  queues: Queues;
  redis: RedisClient;
  prefix: string;
}): Router {
  const router = Router();

  router.delete("/recipients/:email", async (req, res) => {
    const { email } = parseRequest(emailParams, req.params, "params");
    const principal = principalOf(res);
    const tenant = actingTenant(principal, parseRequest(tenantQuery, req.query, "query").tenant);
    const report = await eraseRecipient(sql, { email, tenant, actor: actorOf(principal) }, (targets) =>
      eraseJobs(queues, redis, prefix, targets).catch((error: Error) => {
        throw new AppError(
          "queue_unavailable",
          `its rows are erased, but Redis did not answer (${error.message}): erase again to remove its jobs`,
        );
      }),
    );
    res.json(report satisfies ErasureJson);
  });

  return router;
}
