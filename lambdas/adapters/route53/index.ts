export { Route53DnsProvider, type Route53Options, Route53Pacer } from './dns-provider';
