/** The wire shapes the stand-ins speak: AWS JSON 1.0/1.1, the query protocol and REST-XML errors. */
import { randomUUID } from 'node:crypto';

/** A service error, rendered by each stand-in in its protocol (the SDK maps the code to its exception). */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query and REST-XML errors: Sender (the caller's fault) or Receiver. */
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = code;
  }
}

export interface AwsResponse {
  status: number;
  headers?: Record<string, string>;
  /** Text is sent as UTF-8; bytes as they are (S3 objects). */
  body: string | Buffer;
}

export function jsonResponse(value: unknown, contentType = 'application/x-amz-json-1.1'): AwsResponse {
  return { status: 200, headers: { 'content-type': contentType }, body: JSON.stringify(value) };
}

/** AWS JSON error: `__type` in the body and the `x-amzn-ErrorType` header, as the SDK reads either. */
export function jsonError(error: AwsServiceError, contentType = 'application/x-amz-json-1.1'): AwsResponse {
  return {
    status: error.status,
    headers: {
      'content-type': contentType,
      'x-amzn-errortype': error.code,
      'x-amzn-requestid': randomUUID(),
    },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

export function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function xmlUnescape(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, n: string) => String.fromCharCode(Number.parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The query protocol's and REST-XML's error document. */
export function xmlError(error: AwsServiceError, namespace: string): AwsResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() },
    body:
      `<ErrorResponse xmlns="${namespace}"><Error><Type>${error.type}</Type><Code>${xmlEscape(error.code)}</Code>` +
      `<Message>${xmlEscape(error.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

/** The text of every `<tag>` element directly inside `xml` (no nesting of the same tag). */
export function xmlElements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1] as string);
  return out;
}

export function xmlText(xml: string, tag: string): string | undefined {
  const [first] = xmlElements(xml, tag);
  return first === undefined ? undefined : xmlUnescape(first);
}
