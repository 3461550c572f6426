// Bearer API keys for /v1: the key's principal (KeyLookup) goes on the request, or the request is
// refused with 401 before its body is read.
import type { RequestHandler } from "express";
import { AppError } from "../http/problems.ts";
import type { KeyLookup } from "./key-lookup.ts";
import { setPrincipal } from "./principal.ts";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export function requireApiKey(lookup: KeyLookup): RequestHandler {
  return async (req, res, next) => {
    const token = BEARER.exec(req.get("authorization") ?? "")?.[1];
    const principal = token ? await lookup.find(token) : null;
    if (!principal) {
      res.set("WWW-Authenticate", 'Bearer realm="mailstate"');
      return next(
        new AppError(
          "unauthorized",
          token ? "the API key is not valid (unknown or revoked)" : "send Authorization: Bearer <API key>",
        ),
      );
    }
    setPrincipal(res, principal);
    next();
  };
}
