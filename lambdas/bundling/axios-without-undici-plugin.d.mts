import type { Plugin } from 'esbuild';
export const axiosWithoutUndici: Plugin;
