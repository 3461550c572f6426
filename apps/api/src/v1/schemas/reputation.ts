// GET /v1/reputation: the query (tenant, category, sending domain, window) and its answer, counts and
// rates over the window with one point per hour or day.
import { z } from "zod";
import { actingTenantField, components, shortText } from "./fields.ts";

const REPUTATION_WINDOWS = ["24h", "7d", "30d"] as const;
export type ReputationWindow = (typeof REPUTATION_WINDOWS)[number];

export const reputationQuery = z.object({
  tenant: actingTenantField.meta({
    description:
      "Admin keys: one tenant's sends (default: every tenant's). A tenant's key sees its own; naming another answers 403.",
  }),
  category: shortText(200).optional().meta({ description: "Only notifications recorded with this category." }),
  fromDomain: shortText(253)
    .transform((domain) => domain.toLowerCase())
    .optional()
    .meta({ description: "Only notifications sent from this domain (the domain of `from`, lowercased)." }),
  window: z
    .enum(REPUTATION_WINDOWS, { error: `must be one of ${REPUTATION_WINDOWS.join(", ")}` })
    .default("24h")
    .meta({
      description: "24h: 24 hourly points. 7d, 30d: 7 or 30 daily points (UTC days). The current one is partial.",
    }),
});

const rate = z.number().nullable().meta({ description: "A fraction (0.01 is 1%); null when its denominator is zero." });

const reputationCounts = {
  sent: z.int().meta({ description: "Notifications Resend accepted (email.sent or any later delivery event)." }),
  delivered: z.int().meta({ description: "Notifications with email.delivered." }),
  bounced: z.int().meta({ description: "hardBounced + softBounced: notifications that bounced, each once." }),
  hardBounced: z.int().meta({ description: "Notifications with a Permanent bounce." }),
  softBounced: z
    .int()
    .meta({ description: "Notifications with a Transient or Undetermined bounce and no Permanent one." }),
  complained: z.int().meta({ description: "Notifications with a spam complaint." }),
  bounceRate: rate.meta({ description: "bounced / sent; null when nothing was sent." }),
  complaintRate: rate.meta({ description: "complained / delivered; null when nothing was delivered." }),
};

export const reputationSchema = z
  .object({
    window: z.enum(REPUTATION_WINDOWS),
    tenant: z.string().nullable().meta({ description: "null: every tenant's sends (admin keys only)." }),
    category: z.string().nullable(),
    fromDomain: z.string().nullable(),
    since: z.iso
      .datetime()
      .meta({ description: "Start of the first point: counts are of notifications recorded since." }),
    ...reputationCounts,
    series: z.array(z.object({ at: z.iso.datetime(), ...reputationCounts })).meta({
      description: "One point per hour (24h) or UTC day (7d, 30d), oldest first, empty ones included.",
    }),
  })
  .register(components, { id: "Reputation" });
export type ReputationJson = z.infer<typeof reputationSchema>;
