// Roles and permissions of the API reference. Permissions are bits, so a route's check is one
// AND on the hot path, and "no escalation" is a subset test.

export const Permission = {
  Read: 1,
  Write: 2,
  Admin: 4,
  Metrics: 8,
  ManageSchemas: 16,
  ManagePipelines: 32,
  ManageTenants: 64,
} as const;

export type Role = 'admin' | 'developer' | 'readonly' | 'serviceaccount';

const ALL = 127;

export const rolePermissions: Record<Role, number> = {
  admin: ALL,
  developer: ALL & ~Permission.Admin & ~Permission.ManageTenants,
  readonly: Permission.Read | Permission.Metrics,
  serviceaccount: Permission.Read | Permission.Write,
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && Object.hasOwn(rolePermissions, value);
}

/** True when `granted` gives nothing that `holder` lacks. */
export function within(granted: Role, holder: Role): boolean {
  const g = rolePermissions[granted];
  return (g & rolePermissions[holder]) === g;
}
