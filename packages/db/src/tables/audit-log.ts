// audit_log: who changed what by hand, append-only. Suppressions added and removed (API keys and the
// ops CLI), keys created and revoked (the ops CLI), recipients erased. Written in the same transaction
// as the change (an erasure: once its rows and jobs are gone, with their counts).
import type { AuditEntry, Prisma } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { execute, type Runner } from "../sql.ts";
import { applyingTo, type SuppressionView } from "./suppressions.ts";

export const AUDIT_ACTIONS = [
  "suppression.added",
  "suppression.removed",
  "key.created",
  "key.revoked",
  /** An address erased (`email` is its `sha256:<hex>`, `detail` the counts): never the address itself. */
  "recipient.erased",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did it: an API key of the table (its id), or one recognisable by its label alone. */
export interface Actor {
  keyId: string | null;
  /** The key's name (or id), `API_KEYS sha256:…` for a key of the env, `ops CLI (user)`. */
  label: string;
}

export interface NewAuditEntry {
  action: AuditAction;
  actor: Actor;
  /** The suppression list, or the tenant of the key created or revoked; null for none. */
  tenant: string | null;
  email?: string | null;
  keyId?: string | null;
  detail?: Prisma.InputJsonObject | null;
}

export type { AuditEntry };

export const auditLog = {
  record(runner: Runner, entry: NewAuditEntry): Promise<number> {
    return execute(
      runner,
      `INSERT INTO audit_log (action, actor_key_id, actor, tenant, email, key_id, detail)
       VALUES ($1, $2::uuid, $3, $4, $5, $6::uuid, $7::jsonb)`,
      [
        entry.action,
        entry.actor.keyId,
        entry.actor.label,
        entry.tenant,
        entry.email ?? null,
        entry.keyId ?? null,
        entry.detail == null ? null : JSON.stringify(entry.detail),
      ],
    );
  },

  /**
   * The manual changes of these addresses on the lists that apply to the view (as suppressions.find
   * reads them), newest first, at most `limit` per call.
   */
  forAddresses(db: DbClient, emails: string[], view: SuppressionView, limit = 100): Promise<AuditEntry[]> {
    if (emails.length === 0) return Promise.resolve([]);
    return db.auditEntry.findMany({
      where: { AND: [{ email: { in: emails } }, applyingTo(view)] },
      orderBy: [{ at: "desc" }, { id: "desc" }],
      take: limit,
    });
  },
};
