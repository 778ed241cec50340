export {
  type AssumedRole,
  AssumedRoleCredentials,
  REFRESH_BEFORE_MS,
  type RoleCredentials,
  SESSION_SECONDS,
  sessionNameFor,
} from './assumed-role';
