export { AcmeIssuer, type AcmeIssuerOptions } from './issuer';
