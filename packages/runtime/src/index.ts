export { commonEnv, EnvError, parseEnv, port } from "./env.ts";
export { createLogger, type Logger } from "./logger.ts";
export { onShutdown } from "./shutdown.ts";
