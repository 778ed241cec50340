export { SecretsExtensionCredentialsProvider, type SecretsExtensionOptions } from './credentials';
export { SecretsExtensionStore } from './secret-store';
