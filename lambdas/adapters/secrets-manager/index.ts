export { writeClientCertificateSecret } from './client-certificate';
export { clientPairFromSecret } from './client-secret';
export { accessFromSecret } from './cluster-secret';
export { SecretsManagerCredentialsProvider } from './credentials';
export { SecretsManagerLegacyState, type SecretsManagerLegacyStateOptions } from './legacy-state';
export { RegionalSecretsClients, readSecretString, roleOf, secretRegion } from './regional';
