export { classifyEvent, type EventClass, movesDeliveryState } from "./classify.ts";
export {
  type DeliverySnapshot,
  foldEvents,
  INITIAL_DELIVERY_SNAPSHOT,
  type LoggedEvent,
  type OrderedEvent,
  orderEvents,
  type StateEvent,
  type TimelineEntry,
  timeline,
} from "./fold.ts";
export {
  advanceDelivery,
  DELIVERY_EVENT_TARGETS,
  DELIVERY_EVENT_TYPES,
  type DeliveryEventType,
  type DeliveryMachineEvent,
  type DeliveryMachineSnapshot,
  deliveryMachine,
  initialDeliverySnapshot,
  isDeliveryEventType,
  machineEventTypeOf,
  nextDeliveryState,
  stateOf,
} from "./machine.ts";
export {
  DELIVERY_STATES,
  type DeliveryState,
  isTerminalState,
  PROGRESS_STATES,
  type ProgressState,
  TERMINAL_STATES,
  type TerminalState,
} from "./states.ts";
export {
  DEFAULT_SOFT_BOUNCE_THRESHOLD,
  DEFAULT_SUPPRESSION_POLICY,
  EMAIL_ADDRESS,
  normalizeEmail,
  type PolicySuppressionReason,
  planSuppressions,
  reachesSoftBounceThreshold,
  SUPPRESSION_REASONS,
  type SuppressionPlan,
  type SuppressionPolicy,
  type SuppressionReason,
} from "./suppression-policy.ts";
