export { ConfigCredentialsProvider } from './credentials';
export {
  checkLocalInputs,
  clusterPassword,
  formatConfigError,
  loadConfig,
  loadDeployedConfig,
  readAcmeTrust,
  readPemFile,
} from './files';
export { locateJson } from './json-locate';
