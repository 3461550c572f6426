export {
  createResendClient,
  NOT_FOUND,
  ResendCallError,
  type ResendClient,
  type ResendClientOptions,
} from "./client.ts";
