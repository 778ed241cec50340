import { rootCertificates } from 'node:tls';

export {
  classifyTlsFailure,
  isTlsVerificationFailure,
  protocolFailureReason,
  type TlsFailure,
} from './errors';
export { probeEndpoint } from './probe';
export { trustContext } from './trust';

/** The public roots Node trusts, for the domain's trust checks (validate.ts) before a push. */
export const publicRootPems: readonly string[] = rootCertificates;
