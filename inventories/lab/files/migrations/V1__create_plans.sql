-- Plans customers can subscribe to; seeded by the phase 2 role.
CREATE TABLE plans (
    code          text PRIMARY KEY,
    name          text NOT NULL,
    monthly_cents integer NOT NULL CHECK (monthly_cents >= 0)
);
