export { KmsKeySealer, type KmsKeySealerOptions } from './key-sealer';
