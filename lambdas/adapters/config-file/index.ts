export { ConfigCredentialsProvider } from './credentials';
export { loadDeployedConfig } from './deployed';
export { checkLocalInputs, clusterPassword, formatConfigError, loadConfig } from './files';
export { locateJson } from './json-locate';
export { readAcmeTrust, readPemFile, unreadable } from './pem';
