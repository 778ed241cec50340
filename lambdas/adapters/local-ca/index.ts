export { LocalCaIssuer, type LocalCaOptions } from './issuer';
