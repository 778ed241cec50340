export { Route53DnsProvider, type Route53Options } from './dns-provider';
