// Who a /v1 request speaks for, once its key is known, and the walls that follow from it: a key of
// a tenant acts only inside that tenant; an admin key (tenant null) acts anywhere.
import type { Actor } from "@mailstate/db";
import type { Response } from "express";
import { AppError } from "../http/problems.ts";

export interface Principal {
  /** The key's id in api_keys; null for a key of API_KEYS. */
  keyId: string | null;
  /** The key's tenant; null for an admin key. */
  tenant: string | null;
  /** How the audit log names the key: its name (else its id), or `API_KEYS sha256:…`. */
  label: string;
  /** What its rate limit is counted under. */
  rateKey: string;
}

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals.principal = principal;
}

/** The request's principal; the auth middleware runs before every /v1 route, so there is one. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error("no principal: a /v1 route ran before the API key was checked");
  return principal;
}

export function actorOf(principal: Principal): Actor {
  return { keyId: principal.keyId, label: principal.label };
}

/**
 * The tenant a request acts for: a tenant key's own, whatever it names (naming another tenant is
 * 403: the caller knows the tenant it named, so nothing is leaked); an admin key's choice, or none.
 */
export function actingTenant(principal: Principal, requested: string | undefined): string | null {
  if (principal.tenant === null) return requested ?? null;
  if (requested !== undefined && requested !== principal.tenant) {
    throw new AppError(
      "tenant_forbidden",
      `this API key belongs to tenant ${principal.tenant} and cannot act for tenant ${requested}`,
    );
  }
  return principal.tenant;
}

/**
 * Whether the key may see a row of this tenant. Where it may not, routes answer 404 as for a row
 * that does not exist, never 403: another tenant's ids must not be confirmed.
 */
export function canSee(principal: Principal, tenant: string | null): boolean {
  return principal.tenant === null || principal.tenant === tenant;
}
