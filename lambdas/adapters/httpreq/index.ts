export { HttpReqDnsProvider, type HttpReqOptions } from './dns-provider';
