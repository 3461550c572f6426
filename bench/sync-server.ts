// Benchmark-only: the two designs mailstate is compared with, a webhook written to PostgreSQL inside the
// request. A bare express route verifies the Svix signature (svix's Webhook class), runs one
// transaction on pg's default Pool of 10 and only then answers; recording a send is one INSERT.
// SYNC_DESIGN picks the transaction:
// - sync (default): insert the event into mailstate's own event table, then update the notification's
//   state (or its open count) when the event was new;
// - tutorial, the design issue 27 names: dedup on a `processed_events (svix_id)` table the bench
//   creates, then `UPDATE notifications SET state = <the type's state>, updated_at = now()`, last write
//   wins, no ordering logic. Opens and clicks have no state (`DeliveryState` has no opened or clicked),
//   so for them the UPDATE keeps the state and sets only updated_at: the same two statements a webhook.
// Forked by bench/processes.ts (startSyncServer); sends {port} over IPC once listening.
// Env: DATABASE_URL, RESEND_WEBHOOK_SECRET, API_KEY, SYNC_DESIGN (sync | tutorial).
import express from "express";
import pg from "pg";
import { Webhook } from "svix";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;

const secret = env.RESEND_WEBHOOK_SECRET ?? "";
const webhook = new Webhook(secret);
// pg's default pool (10), no statement timeout: what the tutorials ship.
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 10 });
pool.on("error", () => {});

type Design = "sync" | "tutorial";
const DESIGN: Design = env.SYNC_DESIGN === "tutorial" ? "tutorial" : "sync";

const STATE_OF: Record<string, string> = {
  "email.sent": "sent",
  "email.delivered": "delivered",
  "email.delivery_delayed": "delivery_delayed",
  "email.bounced": "bounced",
  "email.complained": "complained",
};

interface Verified {
  svixId: string;
  event: { type: string; created_at?: string; data?: { email_id?: string } };
  raw: string;
}

/** Each design's statements inside the webhook's transaction; answers what the response says. */
const STORE: Record<Design, (client: pg.PoolClient, webhook: Verified) => Promise<string>> = {
  async sync(client, { svixId, event, raw }) {
    const emailId = event.data?.email_id ?? null;
    const inserted = await client.query(
      `INSERT INTO delivery_events (svix_id, type, occurred_at, email_id, payload, status, notification_id)
       SELECT $1, $2, $3::timestamptz, $4, $5::jsonb, 'applied',
              (SELECT id FROM notifications WHERE resend_email_id = $4)
       ON CONFLICT (svix_id, occurred_at) DO NOTHING`,
      [svixId, event.type, event.created_at ?? new Date().toISOString(), emailId, raw],
    );
    if (inserted.rowCount === 1 && emailId) {
      const state = STATE_OF[event.type];
      if (state) {
        await client.query(
          `UPDATE notifications SET state = $2::"DeliveryState", updated_at = now() WHERE resend_email_id = $1`,
          [emailId, state],
        );
      } else if (event.type === "email.opened") {
        await client.query(
          "UPDATE notifications SET open_count = open_count + 1, updated_at = now() WHERE resend_email_id = $1",
          [emailId],
        );
      }
    }
    return "stored";
  },
  async tutorial(client, { svixId, event }) {
    const inserted = await client.query("INSERT INTO processed_events (svix_id) VALUES ($1) ON CONFLICT DO NOTHING", [
      svixId,
    ]);
    if (inserted.rowCount === 0) return "duplicate";
    await client.query(
      `UPDATE notifications SET state = COALESCE($2::"DeliveryState", state), updated_at = now()
        WHERE resend_email_id = $1`,
      [event.data?.email_id ?? null, STATE_OF[event.type] ?? null],
    );
    return "stored";
  },
};

const app = express();
app.disable("x-powered-by");

// Recording a send, as the tutorial does it: check the key, one INSERT, answer the row's id.
app.post("/v1/notifications", express.json({ limit: "256kb" }), async (req, res) => {
  if (req.get("authorization") !== `Bearer ${env.API_KEY}`) {
    res.status(401).json({ error: "unauthorized" });
    return;
  }
  const body = req.body as { to?: string[]; from?: string; subject?: string; resendEmailId?: string };
  try {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO notifications (resend_email_id, recipients, "from", subject, updated_at)
       VALUES ($1, $2::text[], $3, $4, now()) RETURNING id`,
      [body.resendEmailId ?? null, body.to ?? [], body.from ?? "", body.subject ?? ""],
    );
    res.status(201).json({ id: rows[0]?.id });
  } catch {
    res.status(500).json({ error: "database error" });
  }
});

app.post("/webhooks/resend", express.raw({ type: () => true, limit: "256kb" }), async (req, res) => {
  const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
  let event: Verified["event"];
  try {
    // svix 2.x throws on a bad signature and answers nothing useful: parse the raw body ourselves.
    webhook.verify(raw, req.headers as Record<string, string>);
    event = JSON.parse(raw) as typeof event;
  } catch {
    res.status(400).json({ error: "invalid signature" });
    return;
  }
  const client = await pool.connect().catch(() => undefined);
  if (!client) {
    res.status(500).json({ error: "database unavailable" });
    return;
  }
  try {
    await client.query("BEGIN");
    const status = await STORE[DESIGN](client, { svixId: String(req.headers["svix-id"]), event, raw });
    await client.query("COMMIT");
    res.status(200).json({ status });
  } catch {
    await client.query("ROLLBACK").catch(() => {});
    res.status(500).json({ error: "database error" });
  } finally {
    client.release();
  }
});

const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
