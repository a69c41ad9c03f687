CREATE TABLE customers (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    plan_code  text NOT NULL REFERENCES plans (code),
    created_at timestamptz NOT NULL DEFAULT now()
);
