export { AwsPrivateCaIssuer, type AwsPrivateCaOptions, PASSTHROUGH_TEMPLATE_ARN } from './issuer';
