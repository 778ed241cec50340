export { ConfigCredentialsProvider } from './credentials';
export { loadConfig, loadDeployedConfig, readAcmeTrust, readPemFile } from './files';
