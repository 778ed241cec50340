export { CollectingNotifier, FanOutNotifier } from './notifier';
export { MemoryObjectStore } from './object-store';
