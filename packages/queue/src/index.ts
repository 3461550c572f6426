export {
  backoffStrategy,
  CAPPED_EXPONENTIAL,
  DEFAULT_QUEUE_PREFIX,
  type InboxEventPayload,
  inboxEventPayload,
  JOBS,
  type JobName,
  type JobPayload,
  jobIdFor,
  QUEUE_NAMES,
  type QueueName,
  RETENTION,
  replayEmailPayload,
  unmatchedEventPayload,
} from "./catalog.ts";
export { addJob, addJobs, createQueues, type Queues, queueFor } from "./queues.ts";
export { createRedis, pingRedis, type RedisRole } from "./redis.ts";
