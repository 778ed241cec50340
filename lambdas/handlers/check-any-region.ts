/**
 * The check function of a deployment whose cluster credentials live (also) in other regions: the same
 * handler, plus the Secrets Manager SDK for those secrets. The construct deploys it only then, so
 * the usual check bundle stays SDK-free (bench/cold-start).
 */
import { SecretsManagerCredentialsProvider } from '../adapters/secrets-manager/credentials';
import { awsCheckContext } from '../wiring/check-context';
import { createCheckHandler } from './check';

export const handler = createCheckHandler(awsCheckContext(() => new SecretsManagerCredentialsProvider()));
