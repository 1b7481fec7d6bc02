-- Users, scopes, tokens and the audit log (owned by gcrm.access; migration 0006).

-- name: user_by_name
SELECT id, name, role, all_areas, password_hash, disabled, failed_logins, locked_until
FROM gcrm.users WHERE name = :name;

-- name: user_by_id
SELECT id, name, role, all_areas, password_hash, disabled, failed_logins, locked_until
FROM gcrm.users WHERE id = :id;

-- name: scopes_of
SELECT level, code FROM gcrm.user_scopes WHERE user_id = :id ORDER BY level, code;

-- name: insert_user
INSERT INTO gcrm.users (name, role, all_areas, password_hash)
VALUES (:name, :role, :all_areas, :password_hash)
RETURNING id;

-- name: add_scope
INSERT INTO gcrm.user_scopes (user_id, level, code) VALUES (:id, :level, :code)
ON CONFLICT DO NOTHING;

-- name: remove_scope
DELETE FROM gcrm.user_scopes WHERE user_id = :id AND level = :level AND code = :code;

-- name: unknown_areas
-- The (level, code) pairs of :ids ("level:code") that are not areas.
SELECT x.id FROM unnest(CAST(:ids AS text[])) AS x(id)
WHERE NOT EXISTS (SELECT FROM gcrm.areas a WHERE a.level || ':' || a.code = x.id);

-- name: list_users
SELECT u.name, u.role,
       CASE WHEN u.all_areas THEN 'all'
            ELSE coalesce(string_agg(s.level || ':' || s.code, ' ' ORDER BY s.level, s.code), '')
       END AS scope,
       u.disabled, u.locked_until > now() AS locked,
       (SELECT count(*) FROM gcrm.api_tokens t
        WHERE t.user_id = u.id AND t.revoked_at IS NULL
          AND (t.expires_at IS NULL OR t.expires_at > now())) AS tokens,
       u.created_at
FROM gcrm.users u LEFT JOIN gcrm.user_scopes s ON s.user_id = u.id
GROUP BY u.id ORDER BY u.name;

-- name: login_failed
-- One more failure; at :max_failures in a row the account locks for :lock_minutes.
UPDATE gcrm.users
SET failed_logins = failed_logins + 1,
    locked_until = CASE WHEN failed_logins + 1 >= :max_failures
                        THEN now() + make_interval(mins => :lock_minutes) END
WHERE id = :id
RETURNING failed_logins, locked_until;

-- name: login_succeeded
UPDATE gcrm.users SET failed_logins = 0, locked_until = NULL, password_hash = :password_hash
WHERE id = :id;

-- name: insert_token
INSERT INTO gcrm.api_tokens (user_id, name, prefix, token_hash, expires_at)
VALUES (:user_id, :name, :prefix, :token_hash,
        CASE WHEN CAST(:days AS integer) IS NULL THEN NULL
             ELSE now() + make_interval(days => CAST(:days AS integer)) END)
RETURNING id, expires_at;

-- name: token_user
-- The enabled user of a valid token (not revoked, not expired).
SELECT t.id AS token_id, u.id
FROM gcrm.api_tokens t JOIN gcrm.users u ON u.id = t.user_id
WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT u.disabled;

-- name: token_used
UPDATE gcrm.api_tokens SET last_used_at = now()
WHERE id = :id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: list_tokens
SELECT t.id, u.name AS user_name, t.name, t.prefix, t.created_at, t.expires_at,
       t.revoked_at, t.last_used_at
FROM gcrm.api_tokens t JOIN gcrm.users u ON u.id = t.user_id
WHERE CAST(:user_name AS text) IS NULL OR u.name = :user_name
ORDER BY t.id;

-- name: revoke_token
UPDATE gcrm.api_tokens SET revoked_at = now()
WHERE (id = :id OR prefix = :prefix) AND revoked_at IS NULL
RETURNING id;

-- name: record_audit
INSERT INTO gcrm.audit_log (actor, action, target, rows, fields, detail)
VALUES (:actor, :action, :target, :rows, :fields, CAST(:detail AS jsonb));

-- name: read_audit
SELECT id, at, actor, action, target, rows, fields, detail
FROM gcrm.audit_log
WHERE (CAST(:actor AS text) IS NULL OR actor = :actor)
  AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
ORDER BY id DESC
LIMIT :limit;
