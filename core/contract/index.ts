/** The MQTT message contract (shared/CONTRACT.md): schemas, wire types, validation, topics, decoding. */
export {
  JSON_SCHEMA_DIALECT,
  ID_PATTERN,
  GeoLocationSchema,
  HubInfoSchema,
  HubStatusSchema,
  NodeInfoSchema,
  NodeStatusSchema,
  NodeTelemetrySchema,
  VehicleTelemetrySchema,
  VehicleRequestSchema,
  DLMNotificationSchema,
  schemas,
  PAYLOAD_NAMES,
} from './schemas';
export type {
  PayloadName,
  PayloadTypes,
  GeoLocation,
  HubInfo,
  HubStatus,
  NodeInfo,
  NodeStatus,
  NodeTelemetry,
  VehicleTelemetry,
  VehicleRequest,
  DLMNotification,
} from './schemas';
export type { FromSchema, NormalisedFromSchema, Simplify } from './schema-types';
export { validatePayload, validationError } from './validate';
export { isIPv4, isIPv6 } from './formats';
export type { ValidationError, ValidationResult, ValidateOptions, Inbound } from './validate';
export { parseTimestamp, isTimestamp, formatTimestamp } from './time';
export {
  TOPIC_KINDS,
  SUBSCRIPTIONS,
  PAYLOAD_OF,
  TOPIC_ID_MAX_LENGTH,
  parseTopic,
  buildTopic,
  isTopicError,
  isValidTopicId,
  topicIdProblem,
} from './topics';
export type { TopicKind, TopicIds, ParsedTopic, TopicError } from './topics';
export { decode, encodeDlmNotification, isInboundMessage, DEFAULT_MAX_PAYLOAD_BYTES } from './decode';
export type {
  DecodeResult,
  DecodeFailure,
  DecodeOptions,
  InboundMessage,
  HubInfoMessage,
  HubStatusMessage,
  NodeInfoMessage,
  NodeStatusMessage,
  NodeTelemetryMessage,
  VehicleTelemetryMessage,
  VehicleRequestMessage,
  DlmEventMessage,
  Normalised,
  GeoLocationData,
  HubInfoData,
  HubStatusData,
  NodeInfoData,
  NodeStatusData,
  NodeTelemetryData,
  VehicleTelemetryData,
  VehicleRequestData,
  DlmEventData,
  DlmNotificationInput,
} from './decode';
