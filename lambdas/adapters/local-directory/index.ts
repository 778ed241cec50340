export { StateFiles } from './files';
export {
  LocalDirectoryKeys,
  LocalDirectoryLocks,
  LocalDirectoryRecords,
  LocalDirectoryStore,
} from './state-directory';
