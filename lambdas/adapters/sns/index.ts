export { SnsNotifier } from './notifier';
