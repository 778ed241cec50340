export { accessFromSecret } from './cluster-secret';
export { SecretsManagerCredentialsProvider } from './credentials';
export { SecretsManagerLegacyState, type SecretsManagerLegacyStateOptions } from './legacy-state';
export { RegionalSecretsClients, readSecretString, secretRegion } from './regional';
