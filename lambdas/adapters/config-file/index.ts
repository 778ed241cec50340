export { ConfigCredentialsProvider } from './credentials';
export { loadDeployedConfig } from './deployed';
export { checkLocalInputs, clusterPassword, loadConfig } from './files';
export { formatConfigError } from './format';
export { locateJson } from './json-locate';
export { readAcmeTrust, readPemFile, unreadable } from './pem';
