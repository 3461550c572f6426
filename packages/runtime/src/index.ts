export { commonEnv, EnvError, integer, parseEnv, port, SUPPRESSION_SCOPES, type SuppressionScope } from "./env.ts";
export { createLogger, type Logger } from "./logger.ts";
export { onShutdown } from "./shutdown.ts";
export { TimeoutError, withTimeout } from "./timeout.ts";
export { type BatcherOptions, MicroBatcher } from "./batcher.ts";
