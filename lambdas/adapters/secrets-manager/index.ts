export { accessFromSecret } from './cluster-secret';
export { SecretsManagerCredentialsProvider } from './credentials';
export { SecretsManagerStore, type SecretsManagerStoreOptions } from './secret-store';
