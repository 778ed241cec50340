export { type TopicMessage, topicMessageOf } from './topic-message';
export { type DelayedRecord, MAX_VISIBILITY_SECONDS, QueueVisibility } from './visibility';
