/**
 * The order budget: how many ACME orders one run may place, and which due certificates get them.
 *
 * Let's Encrypt allows 300 new orders per account per 3 hours (a bucket of 300, refilled at one
 * order every 36 seconds, 100 an hour). A first deployment on thousands of clusters, a fleet-wide
 * `force`, or a CA incident would spend that in minutes, and every order after it fails with
 * `rateLimited`. So the plan gives each run a budget (`acme.orderBudget`, default 250, under the
 * bucket) and spends it on the most urgent certificates; the others are deferred to the next run
 * with a finding. Orders that name the certificate they replace (ARI `replaces`, RFC 9773) are
 * exempt from Let's Encrypt's limits: they are counted in their own lane, uncapped unless
 * `acme.replacesOrderBudget` is set (a CA incident is exactly when every one of them must go out,
 * and a cap would spread the renewals of a mass revocation over days).
 *
 * Decided here, at plan time, by one pure function, so the CLI and the Step Functions check decide
 * alike. Resumes (an earlier run's push to verify) and rollbacks order nothing and are not counted;
 * neither are certificates of other issuers (AWS Private CA, a local CA). A certificate over the
 * budget stays due with `deferOrder`: the Issue step still pushes a saved certificate that fits (a
 * reuse orders nothing, e.g. one ordered before a maintenance window), and sets the item aside as
 * deferred only when it would have to order.
 */
import { managedSettings } from '../certificate-kinds';
import type { WatchdogConfig } from '../config/types';
import type { DueCertificate } from './context';
import { issuerTypeOf } from './renewal-info';

export const DEFAULT_ORDER_BUDGET = 250;

/** Let's Encrypt's new-order limit per account: a bucket of 300, refilled at 100 an hour. */
export const LETS_ENCRYPT_NEW_ORDERS = { capacity: 300, refillPerHour: 100 } as const;
const LETS_ENCRYPT_PRODUCTION = 'acme-v02.api.letsencrypt.org';

/** `new`: counts against the CA's new-order limit; `replaces`: names the certificate it replaces (ARI). */
export type OrderLane = 'new' | 'replaces';

export interface OrderBudget {
  /** Orders without `replaces`, per run. */
  newOrders: number;
  /** Orders with `replaces`, per run; null: no cap. */
  replacesOrders: number | null;
}

export function orderBudgetOf(config: Pick<WatchdogConfig, 'acme'>): OrderBudget {
  return {
    newOrders: config.acme?.orderBudget ?? DEFAULT_ORDER_BUDGET,
    replacesOrders: config.acme?.replacesOrderBudget ?? null,
  };
}

/**
 * The lane an item's order would count in, or null when it orders nothing from an ACME CA: a resume
 * or a rollback, or a certificate another issuer signs. An item carries `ariCertId` only when the
 * CA answered renewalInfo for the certificate it replaces, so its order will name it.
 */
export function orderLane(
  config: Pick<WatchdogConfig, 'acme' | 'clusters'>,
  item: DueCertificate,
): OrderLane | null {
  if (item.resume || item.rollback) return null;
  const cluster = config.clusters.find((c) => c.name === item.cluster);
  // Certificates, RS 8.x databases (`bdb:<uid>`) and the client certificate alike.
  const settings = cluster ? managedSettings(cluster, item.certificate) : undefined;
  if (!settings || issuerTypeOf(settings) !== 'acme') return null;
  return item.ariCertId && config.acme?.ari !== false ? 'replaces' : 'new';
}

/**
 * Most urgent first: a certificate that cannot be read (no expiry known) before any other, then the
 * soonest expiry (an expired one first); ties in cluster and certificate order, so every run and
 * both runners rank alike.
 */
export function byUrgency(a: DueCertificate, b: DueCertificate): number {
  const at = (d: DueCertificate) =>
    d.currentNotAfter === null ? Number.NEGATIVE_INFINITY : Date.parse(d.currentNotAfter);
  return at(a) - at(b) || a.cluster.localeCompare(b.cluster) || a.certificate.localeCompare(b.certificate);
}

export interface BudgetedDue {
  /** The same items, in the same order; those over the budget carry `deferOrder: true`. */
  due: DueCertificate[];
  /** Orders granted per lane (an upper bound: a granted item may still reuse a saved certificate). */
  granted: Record<OrderLane, number>;
  /** The items over the budget, most urgent first. */
  deferred: DueCertificate[];
  budget: OrderBudget;
}

/**
 * Spends the budget on the most urgent items of each lane. Pure: the same due list and config
 * always give the same answer.
 */
export function applyOrderBudget(
  config: Pick<WatchdogConfig, 'acme' | 'clusters'>,
  due: readonly DueCertificate[],
): BudgetedDue {
  const budget = orderBudgetOf(config);
  const granted: Record<OrderLane, number> = { new: 0, replaces: 0 };
  const deferredKeys = new Set<DueCertificate>();
  const deferred: DueCertificate[] = [];
  const ranked = due
    .map((item) => ({ item, lane: orderLane(config, item) }))
    .filter((e): e is { item: DueCertificate; lane: OrderLane } => e.lane !== null)
    .sort((a, b) => byUrgency(a.item, b.item));
  for (const { item, lane } of ranked) {
    const cap = lane === 'new' ? budget.newOrders : budget.replacesOrders;
    if (cap === null || granted[lane] < cap) {
      granted[lane]++;
      continue;
    }
    deferredKeys.add(item);
    deferred.push(item);
  }
  return {
    due: due.map((item) => (deferredKeys.has(item) ? { ...item, deferOrder: true } : item)),
    granted,
    deferred,
    budget,
  };
}

/**
 * The rule for schedules that run more often than every 3 hours, for Let's Encrypt's production
 * directory: its bucket refills 100 orders an hour, so runs `minGapHours` apart may each spend at
 * most 100 × minGapHours (and never more than the 300 the bucket holds). Null when the budget fits,
 * or when the directory is another CA's (whose limits we do not know).
 */
export function orderBudgetProblem(
  config: Pick<WatchdogConfig, 'acme'>,
  minGapHours: number,
): { message: string; maxBudget: number } | null {
  const acme = config.acme;
  if (!acme) return null;
  let host: string;
  try {
    host = new URL(acme.directoryUrl).hostname;
  } catch {
    return null;
  }
  if (host !== LETS_ENCRYPT_PRODUCTION) return null;
  const budget = orderBudgetOf(config).newOrders;
  const maxBudget = Math.min(
    LETS_ENCRYPT_NEW_ORDERS.capacity,
    Math.floor(LETS_ENCRYPT_NEW_ORDERS.refillPerHour * minGapHours),
  );
  if (budget <= maxBudget) return null;
  return {
    maxBudget,
    message:
      `acme.orderBudget ${budget} is more than Let's Encrypt refills between two runs: its 300 new orders per 3 hours ` +
      `come back at 100 an hour, and runs may start ${Math.round(minGapHours * 10) / 10} hours apart, so each run may ` +
      `place at most ${maxBudget}. Set acme.orderBudget to ${maxBudget} or less, or schedule less often`,
  };
}
