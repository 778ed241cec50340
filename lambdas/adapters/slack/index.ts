export { SlackWebhookNotifier } from './notifier';
