/**
 * A Secrets Manager stand-in on loopback, GetSecretValue only: a secret is a name (or an ARN) and a
 * string; any other name is ResourceNotFoundException, as Secrets Manager answers. Faults: a name
 * can be refused with any error (AccessDeniedException, DecryptionFailure, InvalidRequestException).
 */
import { AwsError, type JsonStandIn, startJsonStandIn } from './json-stand-in';

export interface SecretsManagerStandIn extends JsonStandIn {
  secrets: Map<string, string>;
  /** GetSecretValue of these names answers this error. */
  refused: Map<string, string>;
  /** Every SecretId asked for, in order. */
  asked: string[];
}

export async function startSecretsManagerStandIn(): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, string>();
  const refused = new Map<string, string>();
  const asked: string[] = [];
  const standIn = await startJsonStandIn((operation, input) => {
    if (operation !== 'GetSecretValue')
      throw new AwsError('UnknownOperationException', `the stand-in does not serve ${operation}`);
    const id = String(input.SecretId);
    asked.push(id);
    const error = refused.get(id);
    if (error) throw new AwsError(error, `the stand-in refuses ${id}`);
    const value = secrets.get(id);
    if (value === undefined)
      throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return { Name: id, SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'] };
  }, 'application/x-amz-json-1.1');
  return { ...standIn, secrets, refused, asked };
}
