export { commonEnv, EnvError, integer, parseEnv, port } from "./env.ts";
export { createLogger, type Logger } from "./logger.ts";
export { onShutdown } from "./shutdown.ts";
export { TimeoutError, withTimeout } from "./timeout.ts";
