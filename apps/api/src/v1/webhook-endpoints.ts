// /v1/webhook-endpoints: where mailstate pushes state changes, kept as data. A tenant's key makes
// and sees its tenant's endpoints (another tenant's answer 404, as for an id that does not exist);
// an admin key sees every endpoint and makes global ones (naming no tenant), which hear of every
// tenant. The secret is answered once, at creation and at each rotation.
import { type Db, type EndpointRow, webhookEndpoints } from "@mailstate/db";
import { assertPublicUrl, OutboundUrlError } from "@mailstate/runtime";
import { type Response, Router } from "express";
import { AppError } from "../http/problems.ts";
import { actingTenant, canSee, principalOf } from "./principal.ts";
import { createWebhookEndpointBody, type WebhookEndpointJson, webhookEndpointParams } from "./schemas/outbound.ts";
import { parseRequest } from "./validate.ts";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

function webhookEndpointJson(row: EndpointRow): WebhookEndpointJson {
  return {
    id: row.id,
    url: row.url,
    events: row.events as WebhookEndpointJson["events"],
    description: row.description,
    tenant: row.tenant,
    createdAt: row.createdAt.toISOString(),
    disabledAt: iso(row.disabledAt),
    disabledReason: row.disabledReason,
    failingSince: iso(row.failingSince),
    previousSecretExpiresAt: iso(row.previousSecretExpiresAt),
  };
}

export function webhookEndpointRoutes({ db, allowPrivate }: { db: Db; allowPrivate: boolean }): Router {
  const router = Router();

  /** The endpoint, if the key may see it; else 404, whether it is another tenant's or does not exist. */
  const visible = async (res: Response, id: string): Promise<EndpointRow> => {
    const row = await webhookEndpoints.find(db, id);
    if (!row || !canSee(principalOf(res), row.tenant)) throw new AppError("not_found", `no webhook endpoint ${id}`);
    return row;
  };

  router.post("/webhook-endpoints", async (req, res) => {
    const body = parseRequest(createWebhookEndpointBody, req.body, "body");
    const tenant = actingTenant(principalOf(res), body.tenant);
    try {
      await assertPublicUrl(body.url, allowPrivate);
    } catch (error) {
      if (error instanceof OutboundUrlError) throw new AppError("endpoint_url_refused", `url: ${error.message}`);
      throw error;
    }
    const { row, secret } = await webhookEndpoints.create(db, {
      tenant,
      url: body.url,
      events: body.events,
      description: body.description ?? null,
    });
    res.status(201).json({ id: row.id, url: row.url, events: row.events, secret });
  });

  router.get("/webhook-endpoints", async (_req, res) => {
    const { tenant } = principalOf(res);
    const rows = await webhookEndpoints.list(db, tenant === null ? undefined : tenant);
    res.json({ data: rows.map(webhookEndpointJson) });
  });

  router.delete("/webhook-endpoints/:id", async (req, res) => {
    const { id } = parseRequest(webhookEndpointParams, req.params, "params");
    await visible(res, id);
    await webhookEndpoints.remove(db, id);
    res.status(204).end();
  });

  router.post("/webhook-endpoints/:id/rotate-secret", async (req, res) => {
    const { id } = parseRequest(webhookEndpointParams, req.params, "params");
    await visible(res, id);
    const rotated = await webhookEndpoints.rotateSecret(db, id);
    if (!rotated) throw new AppError("not_found", `no webhook endpoint ${id}`);
    res.json({ id, secret: rotated.secret, previousSecretExpiresAt: iso(rotated.row.previousSecretExpiresAt) });
  });

  return router;
}
