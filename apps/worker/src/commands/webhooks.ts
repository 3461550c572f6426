// `mailstate webhooks deliveries <endpoint-id>` and `mailstate webhooks replay <message-id>`: an
// outbound endpoint's delivery log (the outbox rows), and sending one message again, same id.
import { outbox } from "@mailstate/db";
import { addJob } from "@mailstate/queue";
import { CliError, type Context, EXIT, fromDb } from "./context.ts";

const when = (date: Date | null) => date?.toISOString() ?? "-";

export async function listDeliveries(
  context: Context,
  { endpointId, limit, json }: { endpointId: string; limit: number; json: boolean },
): Promise<number> {
  const db = context.db();
  const endpoint = await fromDb(
    context,
    db.webhookEndpoint.findUnique({
      where: { id: endpointId },
      select: { url: true, disabledAt: true, disabledReason: true },
    }),
  );
  if (!endpoint) throw new CliError(`no webhook endpoint ${endpointId}`, EXIT.problem);
  const rows = await fromDb(context, outbox.deliveries(db, endpointId, limit));
  const { out } = context.io;
  if (json) {
    for (const row of rows)
      out(
        JSON.stringify({
          id: row.id,
          eventType: row.eventType,
          status: row.status,
          attempts: row.attempts,
          lastStatusCode: row.lastStatusCode,
          lastError: row.lastError,
          lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
          deliveredAt: row.deliveredAt?.toISOString() ?? null,
          createdAt: row.createdAt.toISOString(),
        }),
      );
    return EXIT.ok;
  }
  out(
    `endpoint ${endpointId} ${endpoint.url}${endpoint.disabledAt ? ` DISABLED ${when(endpoint.disabledAt)}: ${endpoint.disabledReason}` : ""}`,
  );
  out("message                                event                       status     attempts  code  last attempt");
  for (const row of rows)
    out(
      [
        row.id.padEnd(38),
        row.eventType.padEnd(27),
        row.status.padEnd(10),
        String(row.attempts).padEnd(9),
        String(row.lastStatusCode ?? "-").padEnd(5),
        when(row.lastAttemptAt),
        row.lastError ? ` ${row.lastError}` : "",
      ].join(" "),
    );
  if (rows.length === 0) out("(no messages yet)");
  return EXIT.ok;
}

export async function replayMessage(context: Context, messageId: string): Promise<number> {
  const db = context.db();
  const message = await fromDb(
    context,
    db.outboundMessage.findUnique({
      where: { id: messageId },
      select: { id: true, status: true, endpoint: { select: { id: true, disabledAt: true } } },
    }),
  );
  if (!message) throw new CliError(`no outbound message ${messageId}`, EXIT.problem);
  if (message.endpoint.disabledAt)
    throw new CliError(`endpoint ${message.endpoint.id} is disabled: messages to it are not sent`, EXIT.problem);
  const queues = await context.queues();
  // The job of its last send (kept a day) would make the new one a duplicate: it goes first.
  const state = await queues.webhooks.getJobState(messageId);
  if (state === "active")
    throw new CliError(`${messageId} is being sent right now; try again in a moment`, EXIT.problem);
  if (state !== "unknown") await queues.webhooks.remove(messageId);
  await fromDb(context, outbox.replay(db, messageId));
  await addJob(queues, "webhooks.deliver", { messageId }, messageId);
  context.io.out(
    `queued ${messageId} again (was ${message.status}); it keeps its id, so the receiver can tell it is a replay`,
  );
  return EXIT.ok;
}
