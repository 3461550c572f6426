export {
  backoffStrategy,
  CAPPED_EXPONENTIAL,
  DEFAULT_QUEUE_PREFIX,
  type InboxEventPayload,
  inboxEventPayload,
  JOB_SCHEDULES,
  JOBS,
  type JobName,
  type JobPayload,
  jobIdFor,
  QUEUE_NAMES,
  type QueueName,
  RETENTION,
  replayEmailPayload,
  scrubEngagementPiiPayload,
  unmatchedEventPayload,
} from "./catalog.ts";
export { addInboxEvents, addJob, addJobs, createQueues, type Queues, queueFor, upsertSchedules } from "./queues.ts";
export { createRedis, pingRedis, type RedisRole } from "./redis.ts";
