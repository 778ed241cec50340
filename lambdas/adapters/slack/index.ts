export { messageFor } from './message-for';
export { SlackWebhookNotifier } from './notifier';
