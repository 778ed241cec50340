import { ConfigError, WatchdogError } from '../../domain/errors';

/**
 * A ConfigError (or any error) as the CLI and `cdk synth` print it: the message, then its hint,
 * no stack trace and never `hint: undefined`.
 */
export function formatConfigError(error: unknown): string {
  if (error instanceof WatchdogError) {
    const head = error instanceof ConfigError ? error.message : `${error.name}: ${error.message}`;
    return `rs-cert-watchdog: ${head}${error.hint ? `\n  hint: ${error.hint}` : ''}`;
  }
  return `rs-cert-watchdog: ${error instanceof Error ? error.message : String(error)}`;
}
