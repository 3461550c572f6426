// One line per answered request, at info: method, path and status only. Headers carry API keys and
// basic-auth credentials, and the addresses in a URL are personal data (redacted). The line is the
// one pino-http wrote (req, res, responseTime, its messages), without the child logger pino-http
// built for every request whether or not it logged: with info off (LOG_LEVEL=warn, as a busy API
// runs) a request costs one level check.
import type { Logger } from "@mailstate/runtime";
import type { RequestHandler } from "express";
import { redactAddresses } from "./redact.ts";

export function requestLog(logger: Logger): RequestHandler {
  let lastId = 0;
  return (req, res, next) => {
    if (!logger.isLevelEnabled("info")) return next();
    const id = ++lastId;
    const started = Date.now();
    // Read now: routers rewrite req.url while they route.
    const { method, originalUrl } = req;
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      logger.info(
        {
          req: { id, method, url: redactAddresses(originalUrl) },
          res: { statusCode: res.statusCode },
          responseTime: Date.now() - started,
        },
        res.statusCode >= 500 ? "request errored" : res.writableFinished ? "request completed" : "request aborted",
      );
    };
    res.once("finish", done);
    res.once("close", done);
    next();
  };
}
