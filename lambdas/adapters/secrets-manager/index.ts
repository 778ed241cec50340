export { writeClientCertificateSecret } from './client-certificate';
export { clientPairFromSecret } from './client-secret';
export { accessFromSecret } from './cluster-secret';
export { SecretsManagerCredentialsProvider } from './credentials';
export { RegionalSecretsClients, readSecretString, roleOf, secretRegion } from './regional';
export { SecretsManagerStore, type SecretsManagerStoreOptions } from './secret-store';
