/**
 * URLs in messages. A URL can carry a user name and password (`https://user:pass@host/`); the
 * configuration refuses them, but a URL from anywhere (a cluster's answer, an ACME directory, an
 * error from a library) still goes through `redactUrl` before it is put in a message.
 */

/** The URL without user information; text that is not a URL has any `user:pass@` part removed. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return redactUrlsIn(String(url));
  }
  if (parsed.username === '' && parsed.password === '') return parsed.href;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** Every `scheme://user[:pass]@` inside a piece of text, with the user information removed. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@]*@/gi, '$1');
}

/** Whether a string is a URL that carries user information (a user name or a password). */
export function hasUserInfo(text: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return false;
  try {
    const parsed = new URL(text);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*@/i.test(text);
  }
}

/** Whether a piece of text holds, anywhere, a URL with user information (`scheme://user[:pass]@`). */
export function containsUserInfoUrl(text: string): boolean {
  return /\b[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]+@/i.test(text);
}
