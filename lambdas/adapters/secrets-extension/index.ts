export { SecretsExtensionCredentialsProvider, type SecretsExtensionOptions } from './credentials';
