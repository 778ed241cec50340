/**
 * SNS on loopback (query protocol): Publish to the topics the deployment created, with SNS's own
 * checks (a Subject is printable ASCII on one line, under 100 characters; a `json` structured
 * message has a string `default`; at most 256 KB), IAM (sns:Publish on the topic) and, for a topic
 * encrypted with a customer key, the publisher's kms:GenerateDataKey and kms:Decrypt on it.
 * Every accepted message goes to the subscribers (the tests' collectors); a subscriber that throws
 * makes the publish fail, as a refusing endpoint would.
 */
import { randomUUID } from 'node:crypto';
import type { AwsPrincipal, AwsRequest, LoopbackAws, LoopbackService } from './loopback-aws';
import { type AwsResponse, AwsServiceError, xmlError, xmlEscape } from './protocols';

const NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

export interface PublishedMessage {
  topicArn: string;
  subject: string | undefined;
  message: string;
  messageStructure: string | undefined;
  attributes: Record<string, string>;
  principal: AwsPrincipal;
}

export type SnsSubscriber = (message: PublishedMessage) => void | Promise<void>;

export class SnsStandIn implements LoopbackService {
  readonly signingName = 'sns';
  readonly endpointEnvName = 'SNS';
  readonly published: PublishedMessage[] = [];
  private readonly topics = new Map<string, { kmsKeyArn: string | undefined }>();
  private readonly subscribers: SnsSubscriber[] = [];

  constructor(private readonly aws: LoopbackAws) {}

  createTopic(arn: string, options: { kmsKeyArn?: string | undefined } = {}): void {
    this.topics.set(arn, { kmsKeyArn: options.kmsKeyArn });
  }

  subscribe(subscriber: SnsSubscriber): () => void {
    this.subscribers.push(subscriber);
    return () => {
      const i = this.subscribers.indexOf(subscriber);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  renderError(error: AwsServiceError): AwsResponse {
    return xmlError(error, NAMESPACE);
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const form = new URLSearchParams(request.body);
    const action = form.get('Action');
    if (action !== 'Publish')
      throw new AwsServiceError('InvalidAction', `the loopback stand-in does not serve ${action}`);
    const topicArn = form.get('TopicArn') ?? '';
    this.aws.authorize(
      request.principal,
      { service: 'sns', action: 'sns:Publish', resource: topicArn },
      { deniedCode: 'AuthorizationError', deniedStatus: 403 },
    );
    const topic = this.topics.get(topicArn);
    if (!topic) throw new AwsServiceError('NotFound', 'Topic does not exist', 404);
    if (topic.kmsKeyArn) {
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
        this.aws.authorize(
          request.principal,
          {
            service: 'kms',
            action,
            resource: topic.kmsKeyArn,
            context: { 'kms:ViaService': `sns.${request.region}.amazonaws.com` },
          },
          {
            deniedCode: 'KMSAccessDenied',
            deniedMessage: `User: ${request.principal.arn} is not authorized to ${action} with ${topic.kmsKeyArn}`,
          },
        );
    }
    const subject = form.get('Subject') ?? undefined;
    if (
      subject !== undefined &&
      (subject.length === 0 || subject.length >= 100 || !/^[\x20-\x7e]+$/.test(subject))
    )
      throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Subject');
    const message = form.get('Message') ?? '';
    if (Buffer.byteLength(message) > 256 * 1024)
      throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Message too long');
    const structure = form.get('MessageStructure') ?? undefined;
    if (structure === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        throw new AwsServiceError(
          'InvalidParameter',
          'Invalid parameter: Message Structure - JSON message body failed to parse',
        );
      }
      if (typeof (parsed as { default?: unknown })?.default !== 'string')
        throw new AwsServiceError(
          'InvalidParameter',
          'Invalid parameter: Message Structure - No default entry in JSON message body',
        );
    }
    const attributes: Record<string, string> = {};
    for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
      attributes[form.get(`MessageAttributes.entry.${i}.Name`) as string] =
        form.get(`MessageAttributes.entry.${i}.Value.StringValue`) ?? '';
    }
    const published: PublishedMessage = {
      topicArn,
      subject,
      message,
      messageStructure: structure,
      attributes,
      principal: request.principal,
    };
    for (const subscriber of this.subscribers) {
      try {
        await subscriber(published);
      } catch (error) {
        // Not retried by the SDK: a client error, as an endpoint refusing the message would be seen.
        throw new AwsServiceError('InvalidParameter', `refused by a subscriber: ${(error as Error).message}`);
      }
    }
    this.published.push(published);
    const messageId = randomUUID();
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body:
        `<PublishResponse xmlns="${NAMESPACE}"><PublishResult><MessageId>${xmlEscape(messageId)}</MessageId></PublishResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  }
}
