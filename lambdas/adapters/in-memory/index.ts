export { CollectingNotifier, FanOutNotifier } from './notifier';
