/**
 * @peculiar/x509 with the reflect polyfill its dependency injection (tsyringe) needs, loaded first.
 * Chosen over node-forge for signing: 9.1 ms (RSA) and 5.1 ms (P-256) a certificate against forge's
 * 21.1 ms, and forge cannot do ECDSA at all (bench/x509-signing.bench.ts).
 */
import 'reflect-metadata';

export * from '@peculiar/x509';
