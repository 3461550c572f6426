// `mailstate keys create|list|revoke`: the /v1 API keys kept in PostgreSQL. A key is printed once,
// when created, and stored only as its SHA-256; creating and revoking one is written to the audit log.
import { userInfo } from "node:os";
import { type Actor, type ApiKeyRow, apiKeys, auditLog } from "@mailstate/db";
import { type Context, EXIT, fromDb } from "./context.ts";

/** Who ran the command, as the audit log names it. */
export function cliActor(): Actor {
  let user = "unknown user";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for the uid (a container): the label stays general.
  }
  return { keyId: null, label: `ops CLI (${user})` };
}

const when = (date: Date | null) => date?.toISOString() ?? "never";

export async function createKey(
  context: Context,
  { tenant, name, json }: { tenant: string | null; name: string | null; json: boolean },
): Promise<number> {
  const db = context.db();
  const { row, key } = await fromDb(
    context,
    db.$transaction(async (tx) => {
      const created = await apiKeys.create(tx, { tenant, name });
      await auditLog.record(tx, {
        action: "key.created",
        actor: cliActor(),
        tenant,
        keyId: created.row.id,
        detail: { name },
      });
      return created;
    }),
  );
  const { out } = context.io;
  const whose = tenant === null ? "an admin key (every tenant)" : `a key of tenant ${tenant}`;
  out(`created ${whose}${name ? `, named ${name}` : ""}: id ${row.id}`);
  out("the key is shown this once; store it now (mailstate keeps only its hash):");
  // The last line, alone: `--json` for scripts, else the bare key.
  out(json ? JSON.stringify({ id: row.id, key, tenant, name }) : key);
  return EXIT.ok;
}

function keyJson(row: ApiKeyRow) {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export async function listKeys(context: Context, { json }: { json: boolean }): Promise<number> {
  const rows = await fromDb(context, apiKeys.list(context.db()));
  const { out } = context.io;
  if (json) {
    out(JSON.stringify(rows.map(keyJson), null, 2));
    return EXIT.ok;
  }
  if (rows.length === 0) {
    out("no keys in the database (keys of API_KEYS are admin keys and are not listed)");
    return EXIT.ok;
  }
  const tenantWidth = Math.max(6, ...rows.map((row) => (row.tenant ?? "(admin)").length));
  const nameWidth = Math.max(4, ...rows.map((row) => (row.name ?? "").length));
  out(
    `${"id".padEnd(36)}  ${"tenant".padEnd(tenantWidth)}  ${"name".padEnd(nameWidth)}  ${"last used".padEnd(24)}  revoked`,
  );
  for (const row of rows) {
    out(
      `${row.id}  ${(row.tenant ?? "(admin)").padEnd(tenantWidth)}  ${(row.name ?? "").padEnd(nameWidth)}  ` +
        `${when(row.lastUsedAt).padEnd(24)}  ${row.revokedAt ? row.revokedAt.toISOString() : "-"}`,
    );
  }
  out(
    `${rows.length} keys (${rows.filter((row) => row.revokedAt).length} revoked); last use is noted at most once a minute`,
  );
  return EXIT.ok;
}

/** Exit 0 when the key is revoked (now or before), 1 when no key has the id. */
export async function revokeKey(context: Context, id: string): Promise<number> {
  const db = context.db();
  const result = await fromDb(
    context,
    db.$transaction(async (tx) => {
      const before = await apiKeys.findById(tx, id);
      if (!before) return null;
      const after = await apiKeys.revoke(tx, id);
      if (before.revokedAt === null)
        await auditLog.record(tx, { action: "key.revoked", actor: cliActor(), tenant: before.tenant, keyId: id });
      return { before, after };
    }),
  );
  if (!result) {
    context.io.err(`no key has the id ${id}`);
    return EXIT.problem;
  }
  const { before, after } = result;
  context.io.out(
    before.revokedAt
      ? `key ${id} was already revoked at ${before.revokedAt.toISOString()}`
      : `revoked key ${id} at ${when(after?.revokedAt ?? null)}: the API refuses it within a second`,
  );
  return EXIT.ok;
}
