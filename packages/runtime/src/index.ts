export { type BatcherOptions, MicroBatcher } from "./batcher.ts";
export {
  commonEnv,
  EnvError,
  integer,
  loadEnvOrExit,
  outboundEnv,
  parseEnv,
  port,
  type ResendEnvValues,
  requireResendKey,
  resendEnv,
  SUPPRESSION_SCOPES,
  SUPPRESSION_SYNC_MODES,
  type SuppressionScope,
  type SuppressionSyncMode,
  suppressionSyncOf,
} from "./env.ts";
export { createLogger, type Logger } from "./logger.ts";
export { assertPublicUrl, isPrivateAddress, OutboundUrlError, publicLookup } from "./public-address.ts";
export { onShutdown } from "./shutdown.ts";
export { sharedReading, TimeoutError, withTimeout } from "./timeout.ts";
