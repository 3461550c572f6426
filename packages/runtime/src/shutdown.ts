// Stop cleanly on SIGTERM/SIGINT: run the closers once, in order, then exit.
import type { Logger } from "pino";

export function onShutdown(logger: Logger, close: () => Promise<void>, timeoutMs = 30_000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error({ timeoutMs }, "shutdown timed out, exiting");
      process.exit(1);
    }, timeoutMs);
    force.unref();
    close()
      .then(() => {
        logger.info("stopped");
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "error while shutting down");
        process.exit(1);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
