// The pieces every /v1 schema is built of: the registry of the OpenAPI document's named schemas,
// strings PostgreSQL can store, tenant names, timestamps and page sizes.
import { z } from "zod";

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 50;

/** The named schemas of the OpenAPI document (components.schemas). */
export const components = z.registry<{ id: string }>();

/** Where the OpenAPI document keeps the schema of `components` with this id. */
export const componentUri = (id: string) => `#/components/schemas/${id}`;

/** The id of a schema of `components`; the document referring to one never registered there is a mistake. */
export function componentId(schema: z.ZodType): string {
  const id = components.get(schema)?.id;
  if (!id) throw new Error("the OpenAPI document refers to a schema not registered in components");
  return id;
}

export const componentRef = (schema: z.ZodType) => ({ $ref: componentUri(componentId(schema)) });

const NUL_MESSAGE = "must not contain the NUL character (\\u0000)";
const SURROGATE_MESSAGE = "must not contain an unpaired UTF-16 surrogate";

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (no `u` flag: code units). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL could not store or compare this string, or undefined when it can. */
export function unstorable(value: string): string | undefined {
  if (value.includes("\0")) return NUL_MESSAGE;
  if (LONE_SURROGATE.test(value)) return SURROGATE_MESSAGE;
  return undefined;
}

/**
 * Every string /v1 stores or queries by: PostgreSQL text and jsonb cannot hold NUL, and a lone
 * surrogate is not Unicode at all, so both would fail in the database as a 500 instead of here.
 */
export const text = () =>
  z.string().superRefine((value, ctx) => {
    const message = unstorable(value);
    if (message) ctx.addIssue({ code: "custom", message });
  });

export const shortText = (max: number) => text().min(1).max(max);
export const tenantName = shortText(200);
export const jsonObject = z.record(z.string(), z.unknown());

/** The tenant an admin key acts for; a tenant's key may only name its own (else 403). */
export const actingTenantField = tenantName.optional().meta({
  description:
    "Admin keys: the tenant to act for (default: none). A tenant's key acts for its own tenant; naming another answers 403.",
});

export const timestamp = z.iso.datetime();
