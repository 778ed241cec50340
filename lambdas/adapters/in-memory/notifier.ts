import type { Alert, Notifier } from '../../domain/ports';

/** Keeps alerts in memory, for the CLI report (stdout) and the tests. */
export class CollectingNotifier implements Notifier {
  readonly alerts: Alert[] = [];
  async send(alert: Alert): Promise<void> {
    this.alerts.push(alert);
  }
}

/** Sends every alert to each notifier; one failing channel does not silence the others. */
export class FanOutNotifier implements Notifier {
  constructor(
    private readonly notifiers: Notifier[],
    private readonly onError: (error: unknown) => void,
  ) {}

  async send(alert: Alert): Promise<void> {
    const results = await Promise.allSettled(this.notifiers.map((n) => n.send(alert)));
    for (const r of results) if (r.status === 'rejected') this.onError(r.reason);
  }
}
