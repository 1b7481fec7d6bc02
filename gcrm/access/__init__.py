"""Access: users, roles and scopes, API tokens, acting for a principal, the audit log.

Who may see which rows is enforced by PostgreSQL (row-level security, migration 0006); this
package manages the users and sets, per transaction, whom the application reads for.
"""

from gcrm.access.audit import read_audit, record_access
from gcrm.access.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from gcrm.access.roles import (
    PERMISSION_LABELS,
    PERMISSIONS,
    ROLES,
    Principal,
    check_role,
    role_table,
)
from gcrm.access.scoping import APP_ROLE, act_as, current_principal, operator, scoped_engine
from gcrm.access.tokens import (
    TOKEN_PREFIX,
    create_token,
    list_tokens,
    principal_of_token,
    revoke_token,
)
from gcrm.access.users import (
    LOCK_MINUTES,
    MAX_FAILED_LOGINS,
    LoginFailed,
    add_user,
    authenticate,
    disable_user,
    grant,
    link_oidc,
    list_users,
    load_principal,
    parse_scopes,
    principal_by_name,
    principal_of_oidc_subject,
    revoke,
    set_password,
)

__all__ = [
    "APP_ROLE",
    "LOCK_MINUTES",
    "MAX_FAILED_LOGINS",
    "MIN_PASSWORD_LENGTH",
    "PERMISSION_LABELS",
    "PERMISSIONS",
    "ROLES",
    "TOKEN_PREFIX",
    "LoginFailed",
    "Principal",
    "act_as",
    "add_user",
    "authenticate",
    "check_role",
    "create_token",
    "current_principal",
    "disable_user",
    "grant",
    "hash_password",
    "link_oidc",
    "list_tokens",
    "list_users",
    "load_principal",
    "operator",
    "parse_scopes",
    "principal_by_name",
    "principal_of_oidc_subject",
    "principal_of_token",
    "read_audit",
    "record_access",
    "revoke",
    "revoke_token",
    "role_table",
    "scoped_engine",
    "set_password",
    "verify_password",
]
