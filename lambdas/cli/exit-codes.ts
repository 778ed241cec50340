/** The CLI's exit codes: 0 nothing needs attention, 1 something does, 2 usage or configuration error. */
export const EXIT_OK = 0;
export const EXIT_ATTENTION = 1;
export const EXIT_USAGE = 2;
