export { LocalDirectoryStore } from './secret-store';
