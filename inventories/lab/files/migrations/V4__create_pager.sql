-- The demo pager application (lab/app), release 2026.11.2: users and incidents.
CREATE TABLE pager_users (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE incidents (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('sev1', 'sev2', 'sev3')),
    status      text NOT NULL DEFAULT 'open',
    reporter_id bigint NOT NULL REFERENCES pager_users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
