export * from './auth';
export * from './config';
export type { Authorize, ConnClaims, ConnKind } from './connections';
export * from './finalize';
export * from './logger';
export { jobAssignFrame } from './node-conn';
export * from './result-order';
export * from './server';
export {
  canSharePort,
  probeNativeUws,
  type TransportChoice,
  type UpgradeRequest,
  type UpgradeVerdict,
} from './transport';
